#include "bybit_protocol.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace quant::bybit {

std::string_view environment_name(Environment e) {
    switch (e) {
        case Environment::mainnet:
            return "mainnet";
        case Environment::testnet:
            return "testnet";
        case Environment::demo:
            return "demo";
    }
    return "?";
}

std::optional<Environment> parse_environment(std::string_view s) {
    for (const Environment e : {Environment::mainnet, Environment::testnet, Environment::demo}) {
        if (environment_name(e) == s)
            return e;
    }
    return std::nullopt;
}

Environment environment_for(bool paper) {
    return paper ? Environment::demo : Environment::mainnet;
}

std::string_view default_base_url(Environment e) {
    switch (e) {
        case Environment::mainnet:
            return "https://api.bybit.com";
        case Environment::testnet:
            return "https://api-testnet.bybit.com";
        case Environment::demo:
            return "https://api-demo.bybit.com";
    }
    return "";
}

std::string checked_base_url(std::string_view url) {
    while (!url.empty() && url.back() == '/')
        url.remove_suffix(1);
    auto host_of = [](std::string_view rest) {
        if (!rest.empty() && rest.front() == '[') {
            const auto close = rest.find(']');
            return close == std::string_view::npos ? std::string_view() : rest.substr(1, close - 1);
        }
        const auto end = rest.find_first_of(":/");
        return rest.substr(0, end);
    };
    if (url.starts_with("https://") && !host_of(url.substr(8)).empty())
        return std::string(url);
    if (url.starts_with("http://")) {
        const std::string_view host = host_of(url.substr(7));
        if (host == "127.0.0.1" || host == "localhost" || host == "::1")
            return std::string(url);
        throw std::invalid_argument(
            "plain http is allowed to a loopback host only (127.0.0.1, ::1, localhost), got " +
            std::string(url));
    }
    throw std::invalid_argument("must be https://HOST[:PORT] (or http:// to a loopback host), got " +
                                std::string(url));
}

std::string_view category_name(Category c) {
    return c == Category::spot ? "spot" : "linear";
}

std::optional<Category> parse_category(std::string_view s) {
    if (s == "spot")
        return Category::spot;
    if (s == "linear")
        return Category::linear;
    return std::nullopt;
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
             &len) == nullptr)
        throw quant::BrokerError("bybit: HMAC-SHA256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * static_cast<std::size_t>(len));
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(hex[mac[i] >> 4]);
        out.push_back(hex[mac[i] & 0x0f]);
    }
    return out;
}

std::string string_to_sign(std::int64_t timestamp_ms, std::string_view api_key, std::int64_t recv_window_ms,
                           std::string_view payload) {
    std::string s = std::to_string(timestamp_ms);
    s.append(api_key);
    s.append(std::to_string(recv_window_ms));
    s.append(payload);
    return s;
}

std::string signature(std::string_view secret, std::int64_t timestamp_ms, std::string_view api_key,
                      std::int64_t recv_window_ms, std::string_view payload) {
    return hmac_sha256_hex(secret, string_to_sign(timestamp_ms, api_key, recv_window_ms, payload));
}

namespace {

void append_encoded(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0x0f]);
        }
    }
}

std::optional<double> to_double(std::string_view s) {
    if (s.empty())
        return std::nullopt;
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

std::string text_of(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string query_string(const Params& params) {
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty())
            out.push_back('&');
        append_encoded(out, k);
        out.push_back('=');
        append_encoded(out, v);
    }
    return out;
}

std::optional<double> number(const Json& obj, const char* key) {
    if (!obj.is_object())
        return std::nullopt;
    const auto it = obj.find(key);
    if (it == obj.end())
        return std::nullopt;
    if (it->is_number()) {
        const double v = it->get<double>();
        return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
    }
    if (it->is_string())
        return to_double(it->get_ref<const std::string&>());
    return std::nullopt;
}

std::string decimal_text(double v, double step) {
    int decimals = 0;
    if (step > 0) {
        // the fewest decimals that write the step exactly (to 1e-6 of its last digit)
        while (decimals < 12) {
            const double scaled = step * std::pow(10.0, decimals);
            if (std::round(scaled) >= 1 && std::fabs(scaled - std::round(scaled)) <= 1e-6 * scaled)
                break;
            ++decimals;
        }
    } else {
        decimals = 8;
    }
    std::array<char, 64> buf{};
    const auto [ptr, ec] =
        std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, decimals);
    if (ec != std::errc())
        throw quant::BrokerError("bybit: cannot format number");
    return {buf.data(), ptr};
}

InstrumentRules parse_instrument(const Json& item, Category category) {
    InstrumentRules r;
    r.symbol = text_of(item, "symbol");
    r.category = category;
    r.status = text_of(item, "status");
    r.base_coin = text_of(item, "baseCoin");
    r.quote_coin = text_of(item, "quoteCoin");
    if (r.quote_coin.empty())
        r.quote_coin = "USDT";
    if (r.base_coin.empty() && r.symbol.size() > r.quote_coin.size() && r.symbol.ends_with(r.quote_coin))
        r.base_coin = r.symbol.substr(0, r.symbol.size() - r.quote_coin.size());
    const Json lot = item.value("lotSizeFilter", Json::object());
    const Json price = item.value("priceFilter", Json::object());
    // linear: qtyStep; spot: basePrecision (the step of a base quantity)
    const auto step = number(lot, "qtyStep") ? number(lot, "qtyStep") : number(lot, "basePrecision");
    const auto min_qty = number(lot, "minOrderQty");
    if (r.symbol.empty() || !step || *step <= 0 || !min_qty)
        throw quant::BrokerError("bybit: instruments-info of " + r.symbol +
                                 " lacks symbol, lotSizeFilter.qtyStep/basePrecision or minOrderQty");
    r.qty_step = *step;
    r.min_qty = *min_qty;
    // linear market orders have their own cap (maxMktOrderQty) when given
    r.max_qty = number(lot, "maxMktOrderQty").value_or(number(lot, "maxOrderQty").value_or(0.0));
    r.min_notional = number(lot, "minNotionalValue").value_or(number(lot, "minOrderAmt").value_or(0.0));
    r.tick_size = number(price, "tickSize").value_or(0.0);
    return r;
}

SizedQty size_order(double qty, const InstrumentRules& rules, std::optional<double> price) {
    SizedQty out;
    if (!std::isfinite(qty) || qty <= 0) {
        out.refusal = "qty must be a positive number";
        return out;
    }
    if (!rules.status.empty() && rules.status != "Trading") {
        out.refusal = rules.symbol + " is not trading at Bybit (status " + rules.status + ")";
        return out;
    }
    const double steps = std::floor(qty / rules.qty_step + 1e-9);
    out.qty = steps * rules.qty_step;
    out.text = decimal_text(out.qty, rules.qty_step);
    out.qty = to_double(out.text).value_or(out.qty);
    const std::string step_text = decimal_text(rules.qty_step, rules.qty_step);
    if (out.qty <= 0 || out.qty + 1e-12 < rules.min_qty) {
        out.refusal = "qty " + decimal_text(qty, rules.qty_step / 100) + " rounded down to the step " +
                      step_text + " is " + out.text + ", below the minimum " +
                      decimal_text(rules.min_qty, rules.qty_step) + " of " + rules.symbol;
        return out;
    }
    if (rules.max_qty > 0 && out.qty > rules.max_qty + 1e-12) {
        out.refusal = "qty " + out.text + " is above the maximum " +
                      decimal_text(rules.max_qty, rules.qty_step) + " of " + rules.symbol;
        return out;
    }
    if (price && rules.min_notional > 0 && out.qty * *price + 1e-9 < rules.min_notional) {
        out.refusal = "notional " + decimal_text(out.qty * *price, 0.01) + " (qty " + out.text + " x price " +
                      decimal_text(*price, rules.tick_size) + ") is below the minimum " +
                      decimal_text(rules.min_notional, 0.01) + " of " + rules.symbol;
        return out;
    }
    return out;
}

Reply parse_reply(int http_status, std::string_view body) {
    Reply r;
    r.http_status = http_status;
    Json j;
    try {
        j = quant::parse_json(body);
    } catch (const std::exception&) {
        throw quant::BrokerError("bybit: HTTP " + std::to_string(http_status) +
                                 " with a body that is not JSON");
    }
    const auto code = j.find("retCode");
    if (!j.is_object() || code == j.end() || !code->is_number_integer())
        throw quant::BrokerError("bybit: HTTP " + std::to_string(http_status) +
                                 " without a retCode envelope");
    r.ret_code = code->get<long long>();
    r.ret_msg = text_of(j, "retMsg");
    const auto res = j.find("result");
    r.result = res != j.end() && res->is_object() ? *res : Json::object();
    const auto t = j.find("time");
    if (t != j.end() && t->is_number_integer())
        r.time_ms = t->get<std::int64_t>();
    return r;
}

Outcome classify(long long ret_code) {
    switch (ret_code) {
        case 0:
            return Outcome::ok;
        case 110072:
        case 170141:
        case 12141:
            return Outcome::duplicate;
        case 10002:
            return Outcome::clock;
        case 10006:
            return Outcome::rate_limited;
        case 10000:
        case 10016:
            return Outcome::retry;
        case 110001:
            return Outcome::not_found;
        case 10001:
        case 10003:
        case 10004:
        case 10005:
        case 10010:
        case 10017:
        case 10027:
        case 10028:
        case 10029:
            return Outcome::fatal;
        default:
            return Outcome::rejected;
    }
}

std::string reason(long long ret_code, std::string_view ret_msg) {
    const char* what = "";
    switch (ret_code) {
        case 10000:
            what = "server timeout";
            break;
        case 10001:
            what = "request parameter error";
            break;
        case 10002:
            what = "request time outside the recv window";
            break;
        case 10003:
            what = "API key invalid or not for this environment";
            break;
        case 10004:
            what = "signature error";
            break;
        case 10005:
            what = "permission denied";
            break;
        case 10006:
            what = "too many visits (rate limit)";
            break;
        case 10010:
            what = "unmatched IP";
            break;
        case 10016:
            what = "server error";
            break;
        case 10027:
            what = "trading banned";
            break;
        case 10029:
            what = "symbol not in whitelist";
            break;
        case 110001:
            what = "order does not exist";
            break;
        case 110003:
            what = "price outside the allowed range";
            break;
        case 110004:
        case 110007:
        case 110012:
        case 110044:
        case 110045:
        case 170131:
            what = "insufficient balance";
            break;
        case 110017:
            what = "qty truncated to zero";
            break;
        case 110020:
            what = "too many active orders";
            break;
        case 110072:
        case 170141:
        case 12141:
            what = "duplicate orderLinkId";
            break;
        case 110094:
        case 170140:
            what = "order value below the minimum";
            break;
        case 170136:
            what = "qty below the minimum";
            break;
        case 170137:
            what = "qty has too many decimals";
            break;
        case 170134:
            what = "price has too many decimals";
            break;
        default:
            what = "";
    }
    std::string out = std::to_string(ret_code);
    if (*what != '\0') {
        out += ' ';
        out += what;
    }
    if (!ret_msg.empty()) {
        out += " (";
        out.append(ret_msg.substr(0, 200));
        out += ')';
    }
    return out;
}

quant::OrderState order_state(std::string_view s, double cum_exec_qty) {
    if (s == "New" || s == "PartiallyFilled" || s == "Untriggered" || s == "Triggered" || s == "Created")
        return quant::OrderState::sent;
    if (s == "Filled")
        return quant::OrderState::filled;
    if (s == "Cancelled" || s == "PartiallyFilledCanceled" || s == "Deactivated")
        return cum_exec_qty > 0 ? quant::OrderState::filled : quant::OrderState::cancelled;
    if (s == "Rejected")
        return quant::OrderState::rejected;
    return quant::OrderState::unknown;
}

quant::OrderResult parse_order(const Json& item) {
    quant::OrderResult o;
    o.client_order_id = text_of(item, "orderLinkId");
    o.broker_order_id = text_of(item, "orderId");
    o.symbol = text_of(item, "symbol");
    o.side = text_of(item, "side") == "Sell" ? quant::Side::sell : quant::Side::buy;
    o.qty = number(item, "qty").value_or(0.0);
    o.filled_qty = number(item, "cumExecQty").value_or(0.0);
    o.avg_price = o.filled_qty > 0 ? number(item, "avgPrice").value_or(0.0) : 0.0;
    if (o.avg_price <= 0 && o.filled_qty > 0) {
        const auto value = number(item, "cumExecValue");
        if (value)
            o.avg_price = *value / o.filled_qty;
    }
    // fees: cumFeeDetail {"USDT": "0.1"} (the sum of the coins' fees), else the deprecated cumExecFee
    double fee = 0;
    bool have_fee = false;
    const auto detail = item.find("cumFeeDetail");
    if (detail != item.end() && detail->is_object()) {
        for (const auto& [coin, v] : detail->items()) {
            const Json one = Json::object({{"v", v}});
            if (const auto f = number(one, "v")) {
                fee += *f;
                have_fee = true;
            }
        }
    }
    if (!have_fee)
        fee = number(item, "cumExecFee").value_or(0.0);
    o.fee = fee;
    const std::string status = text_of(item, "orderStatus");
    o.state = order_state(status, o.filled_qty);
    const std::string reject = text_of(item, "rejectReason");
    o.message = "bybit " + status;
    if (!reject.empty() && reject != "EC_NoError")
        o.message += " (" + reject + ")";
    if (o.state == quant::OrderState::filled && o.filled_qty + 1e-12 < o.qty)
        o.message +=
            ": partially filled " + decimal_text(o.filled_qty, 1e-8) + " of " + decimal_text(o.qty, 1e-8);
    return o;
}

std::optional<std::int64_t> interval_ms(std::string_view code) {
    constexpr std::int64_t minute = 60'000;
    if (code == "D")
        return std::int64_t{1440} * minute;
    if (code == "W")
        return std::int64_t{7} * 1440 * minute;
    for (const int m : {1, 3, 5, 15, 30, 60, 120, 240, 360, 720}) {
        if (code == std::to_string(m))
            return m * minute;
    }
    return std::nullopt;
}

std::vector<quant::BarData> parse_klines(const Json& list, std::int64_t interval, std::int64_t now_ms) {
    std::vector<quant::BarData> out;
    if (!list.is_array())
        throw quant::BrokerError("bybit: kline result.list is not an array");
    for (const Json& row : list) {
        if (!row.is_array() || row.size() < 6)
            throw quant::BrokerError(
                "bybit: a kline row is not [start, open, high, low, close, volume, ...]");
        std::array<double, 6> v{};
        for (std::size_t i = 0; i < 6; ++i) {
            const Json cell = Json::object({{"v", row[i]}});
            const auto d = number(cell, "v");
            if (!d)
                throw quant::BrokerError("bybit: a kline cell is not a number");
            v.at(i) = *d;
        }
        // a start time in milliseconds from 0 to 1e15 (year 33658): fuzz_bybit_reply found a
        // start of 3.9e19 that overflowed the int64 cast (UBSan)
        if (!(v[0] >= 0 && v[0] <= 1e15) || v[0] != std::floor(v[0]))
            throw quant::BrokerError("bybit: a kline start time is not whole milliseconds from 0 to 1e15");
        const auto start = static_cast<std::int64_t>(v[0]);
        if (start + interval > now_ms)
            continue;  // still forming
        out.push_back(
            {.ts_us = start * 1000, .open = v[1], .high = v[2], .low = v[3], .close = v[4], .volume = v[5]});
    }
    // newest first on the wire; oldest first out, without duplicates across pages
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts_us < b.ts_us; });
    out.erase(
        std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts_us == b.ts_us; }),
        out.end());
    return out;
}

std::optional<std::string> kline_interval(std::string_view bar_interval) {
    const std::pair<std::string_view, const char*> table[] = {{"1m", "1"},   {"5m", "5"},  {"15m", "15"},
                                                              {"30m", "30"}, {"1h", "60"}, {"4h", "240"},
                                                              {"1d", "D"},   {"1w", "W"}};
    for (const auto& [name, code] : table) {
        if (name == bar_interval)
            return std::string(code);
    }
    return std::nullopt;
}

}  // namespace quant::bybit
