// libFuzzer target: any bytes as a Bybit V5 reply body, through the parsers the adapter runs on
// what the broker sends (worker/src/bybit_protocol.cpp): the envelope (parse_reply), then the
// result as order lists (parse_order of /v5/order/realtime and /history), as an instrument list
// (parse_instrument, then size_order with its rules) and as a kline page (parse_klines). The only
// acceptable failures are quant::BrokerError (a reply the adapter refuses) and quant::Error (the
// JSON parser); any other exception, a crash or a sanitizer report is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bybit_protocol.hpp"
#include "quant/error.hpp"

namespace {

void orders(const quant::Json& result) {
    const auto list = result.find("list");
    if (list == result.end() || !list->is_array())
        return;
    for (const auto& item : *list) {
        if (!item.is_object())
            continue;
        const quant::OrderResult o = quant::bybit::parse_order(item);
        (void)o;
    }
}

void instruments(const quant::Json& result) {
    const auto list = result.find("list");
    if (list == result.end() || !list->is_array())
        return;
    for (const auto& item : *list) {
        if (!item.is_object())
            continue;
        for (const auto category : {quant::bybit::Category::linear, quant::bybit::Category::spot}) {
            try {
                const quant::bybit::InstrumentRules rules = quant::bybit::parse_instrument(item, category);
                (void)quant::bybit::size_order(0.0123, rules, 50000.0);
                (void)quant::bybit::size_order(1e6, rules, std::nullopt);
            } catch (const quant::BrokerError&) {
            }
        }
    }
}

void klines(const quant::Json& result) {
    const auto list = result.find("list");
    if (list == result.end())
        return;
    try {
        (void)quant::bybit::parse_klines(*list, 60'000, 1'800'000'000'000);
    } catch (const quant::BrokerError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    quant::bybit::Reply r;
    try {
        r = quant::bybit::parse_reply(200, body);
    } catch (const quant::BrokerError&) {
        return 0;
    }
    (void)quant::bybit::classify(r.ret_code);
    (void)quant::bybit::reason(r.ret_code, r.ret_msg);
    try {
        orders(r.result);
    } catch (const quant::BrokerError&) {
    }
    instruments(r.result);
    klines(r.result);
    return 0;
}
