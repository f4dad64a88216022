#include "bybit_adapter.hpp"

#include <openssl/crypto.h>
#include <poll.h>

#include <algorithm>
#include <cmath>

#include "quant/pq/log.hpp"

namespace quant::bybit {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void sleep_for_ms(long long ms) {
    if (ms > 0)
        poll(nullptr, 0, static_cast<int>(ms));
}

std::optional<std::int64_t> header_int(const HttpResponse& r, const char* name) {
    const auto it = r.headers.find(name);
    if (it == r.headers.end())
        return std::nullopt;
    try {
        return std::stoll(it->second);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

const Json& list_of(const Reply& r) {
    static const Json empty = Json::array();
    const auto it = r.result.find("list");
    return it != r.result.end() && it->is_array() ? *it : empty;
}

std::string side_text(quant::Side s) {
    return s == quant::Side::sell ? "Sell" : "Buy";
}

}  // namespace

// ---------------------------------------------------------------- gateway

BybitGateway::BybitGateway(Settings s) : s_(std::move(s)), http_(s_.connect_timeout_ms, s_.timeout_ms) {
    s_.base_url = checked_base_url(s_.base_url);
}

std::int64_t BybitGateway::now_ms() const {
    return wall_ms() + offset_ms_;
}

void BybitGateway::check_not_banned() const {
    if (banned_ && SteadyClock::now() < banned_until_) {
        const auto left =
            std::chrono::duration_cast<std::chrono::seconds>(banned_until_ - SteadyClock::now()).count();
        throw quant::BrokerError("bybit: HTTP 403 (IP rate limit or region): no requests for another " +
                                 std::to_string(left) + " s (brokers.md §1.10: wait 10 minutes)");
    }
}

Reply BybitGateway::exchange(const std::string& method, const std::string& path, const std::string& payload,
                             const std::vector<std::string>& headers) {
    check_not_banned();
    // the previous reply said the endpoint's budget was spent: wait for its reset (bounded)
    if (reset_at_ms_ > 0) {
        const std::int64_t wait = reset_at_ms_ - now_ms();
        reset_at_ms_ = 0;
        if (wait > 0)
            sleep_for_ms(std::min<std::int64_t>(wait, s_.max_wait_ms));
    }
    const std::string url = s_.base_url + path + (method == "GET" && !payload.empty() ? "?" + payload : "");
    ++requests_;
    const HttpResponse resp = http_.request(method, url, headers, method == "POST" ? payload : std::string());
    if (resp.status == 403) {
        banned_ = true;
        banned_until_ = SteadyClock::now() + std::chrono::minutes(10);
        pq::log_error("bybit_forbidden",
                      {{"path", path}, {"note", "HTTP 403: every request stops for 10 minutes"}});
        check_not_banned();
    }
    if (const auto left = header_int(resp, "x-bapi-limit-status"); left && *left <= 0) {
        if (const auto reset = header_int(resp, "x-bapi-limit-reset-timestamp"))
            reset_at_ms_ = *reset;
    }
    if (resp.status == 429) {
        Reply r;
        r.http_status = 429;
        r.ret_code = 10006;  // treated as the API rate limit: wait and retry
        r.ret_msg = "HTTP 429 system frequency protection";
        return r;
    }
    if (resp.status >= 500)
        throw quant::BrokerError("bybit: HTTP " + std::to_string(resp.status) + " on " + path);
    Reply r = parse_reply(resp.status, resp.body);
    if (r.ret_code == 10006) {
        const auto reset = header_int(resp, "x-bapi-limit-reset-timestamp");
        reset_at_ms_ = reset ? *reset : now_ms() + 1000;
    }
    return r;
}

void BybitGateway::resync() {
    const std::int64_t t0 = wall_ms();
    const Reply r = exchange("GET", "/v5/market/time", "", {});
    const std::int64_t t1 = wall_ms();
    if (r.ret_code != 0)
        throw quant::BrokerError("bybit: server time: " + reason(r.ret_code, r.ret_msg));
    std::int64_t server = r.time_ms;
    if (const auto nano = r.result.find("timeNano"); nano != r.result.end() && nano->is_string()) {
        try {
            server = std::stoll(nano->get<std::string>()) / 1'000'000;
        } catch (const std::exception&) {
        }
    }
    if (server <= 0)
        throw quant::BrokerError("bybit: server time missing in /v5/market/time");
    offset_ms_ = server - (t0 + t1) / 2;
    synced_ = true;
    pq::log_info("bybit_clock", {{"offset_ms", offset_ms_}, {"rtt_ms", t1 - t0}});
}

Reply BybitGateway::get_public(const std::string& path, const Params& query) {
    const std::string q = query_string(query);
    long waited = 0;
    for (;;) {
        Reply r = exchange("GET", path, q, {});
        if (r.ret_code == 10006 && waited < s_.max_wait_ms) {
            waited += 200;
            continue;  // exchange() waits for the reset before the next request
        }
        return r;
    }
}

Reply BybitGateway::signed_request(const std::string& method, const std::string& path,
                                   const std::string& payload, const std::string& api_key,
                                   const std::string& api_secret) {
    if (!synced_)
        resync();
    bool resynced = false;
    long waited = 0;
    for (;;) {
        const std::int64_t ts = now_ms();
        std::vector<std::string> headers{
            "X-BAPI-API-KEY: " + api_key,
            "X-BAPI-TIMESTAMP: " + std::to_string(ts),
            "X-BAPI-RECV-WINDOW: " + std::to_string(s_.recv_window_ms),
            "X-BAPI-SIGN: " + signature(api_secret, ts, api_key, s_.recv_window_ms, payload),
            "X-BAPI-SIGN-TYPE: 2",
        };
        if (method == "POST")
            headers.emplace_back("Content-Type: application/json");
        Reply r = exchange(method, path, payload, headers);
        const Outcome o = classify(r.ret_code);
        if (o == Outcome::clock && !resynced) {
            pq::log_warn("bybit_clock_retry", {{"path", path}, {"reason", reason(r.ret_code, r.ret_msg)}});
            resync();
            resynced = true;
            continue;
        }
        if (o == Outcome::rate_limited && waited < s_.max_wait_ms) {
            pq::log_warn("bybit_rate_limited", {{"path", path}, {"reason", reason(r.ret_code, r.ret_msg)}});
            waited += 200;
            if (r.http_status == 429)
                sleep_for_ms(200);
            continue;
        }
        return r;
    }
}

const InstrumentRules& BybitGateway::instrument(Category c, const std::string& symbol) {
    const std::string key = std::string(category_name(c)) + ":" + symbol;
    if (const auto it = instruments_.find(key); it != instruments_.end())
        return it->second;
    const Reply r = get_public("/v5/market/instruments-info",
                               {{"category", std::string(category_name(c))}, {"symbol", symbol}});
    if (r.ret_code != 0)
        throw quant::BrokerError("bybit: instruments-info " + symbol + ": " + reason(r.ret_code, r.ret_msg));
    for (const Json& item : list_of(r)) {
        if (item.value("symbol", "") == symbol)
            return instruments_.emplace(key, parse_instrument(item, c)).first->second;
    }
    throw quant::BrokerError("bybit: no instrument " + symbol + " in category " +
                             std::string(category_name(c)));
}

// ---------------------------------------------------------------- adapter

BybitAdapter::~BybitAdapter() {
    if (!t_.api_secret.empty())
        OPENSSL_cleanse(t_.api_secret.data(), t_.api_secret.size());
}

void BybitAdapter::require_connected() const {
    if (!connected_)
        throw quant::BrokerError("bybit: not connected");
}

Reply BybitAdapter::get(const std::string& path, const Params& query) {
    return gw_.signed_request("GET", path, query_string(query), t_.api_key, t_.api_secret);
}

Reply BybitAdapter::post(const std::string& path, const Json& body) {
    return gw_.signed_request("POST", path, body.dump(), t_.api_key, t_.api_secret);
}

void BybitAdapter::connect() {
    gw_.check_not_banned();
    if (!gw_.synced())
        gw_.resync();
    (void)gw_.instrument(t_.category, t_.symbol);  // the rules, cached; an unknown symbol fails here
    connected_ = true;
}

std::optional<quant::OrderResult> BybitAdapter::lookup(const std::string& path,
                                                       std::string_view client_order_id) {
    const Reply r = get(path, {{"category", std::string(category_name(t_.category))},
                               {"orderLinkId", std::string(client_order_id)}});
    if (classify(r.ret_code) == Outcome::not_found)
        return std::nullopt;
    if (r.ret_code != 0)
        throw quant::BrokerError("bybit: " + path + ": " + reason(r.ret_code, r.ret_msg));
    for (const Json& item : list_of(r)) {
        if (item.value("orderLinkId", "") == client_order_id)
            return parse_order(item);
    }
    return std::nullopt;
}

std::optional<quant::OrderResult> BybitAdapter::order_by_client_id(std::string_view client_order_id) {
    require_connected();
    if (auto o = lookup("/v5/order/realtime", client_order_id))
        return o;
    return lookup("/v5/order/history", client_order_id);
}

std::optional<quant::OrderResult> BybitAdapter::cancel_order(std::string_view symbol,
                                                             std::string_view client_order_id) {
    require_connected();
    if (auto before = order_by_client_id(client_order_id); !before || quant::is_terminal(before->state))
        return before;  // nothing open to cancel: a repeated cancel is its answer
    const Json body = {{"category", std::string(category_name(t_.category))},
                       {"symbol", std::string(symbol)},
                       {"orderLinkId", std::string(client_order_id)}};
    const Reply r = post("/v5/order/cancel", body);
    const Outcome o = classify(r.ret_code);
    if (o != Outcome::ok && o != Outcome::not_found && r.ret_code != 170213)
        throw quant::BrokerError("bybit: cancel " + std::string(client_order_id) + ": " +
                                 reason(r.ret_code, r.ret_msg));
    pq::log_info("bybit_cancel", {{"client_order_id", client_order_id}, {"ret_code", r.ret_code}});
    // the order as the cancel left it (a fill may have come first: then it is FILLED, in part)
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(gw_.settings().follow_ms);
    for (;;) {
        auto after = order_by_client_id(client_order_id);
        if (!after || quant::is_terminal(after->state) || SteadyClock::now() >= deadline)
            return after;
        sleep_for_ms(gw_.settings().poll_ms);
    }
}

quant::OrderResult BybitAdapter::follow(const std::string& client_order_id, const quant::OrderResult& ack) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(gw_.settings().follow_ms);
    quant::OrderResult last = ack;
    for (;;) {
        if (auto o = order_by_client_id(client_order_id)) {
            const double before = last.filled_qty;
            last = *o;
            if (quant::is_terminal(last.state))
                return last;
            if (last.filled_qty > before && on_progress) {
                pq::log_info("bybit_partial_fill", {{"client_order_id", client_order_id},
                                                    {"filled_qty", last.filled_qty},
                                                    {"of", last.qty}});
                on_progress(last);
            }
        }
        if (SteadyClock::now() >= deadline)
            break;
        sleep_for_ms(gw_.settings().poll_ms);
    }
    pq::log_warn("bybit_order_open", {{"client_order_id", client_order_id},
                                      {"filled_qty", last.filled_qty},
                                      {"note", "still open at the deadline: SENT, reconciled later"}});
    last.state = quant::OrderState::sent;
    return last;
}

quant::OrderResult BybitAdapter::place_order(std::string_view symbol, double qty, quant::Side side,
                                             std::string_view client_order_id, std::string_view order_type,
                                             std::optional<double> price) {
    require_connected();
    quant::OrderResult out;
    out.client_order_id = std::string(client_order_id);
    out.symbol = std::string(symbol);
    out.side = side;
    out.qty = qty;
    if (symbol != t_.symbol) {
        out.state = quant::OrderState::rejected;
        out.message = "not sent: the adapter trades " + t_.symbol + ", not " + std::string(symbol);
        return out;
    }
    const bool limit = order_type == "LIMIT";
    if (!limit && order_type != "MARKET") {
        out.state = quant::OrderState::rejected;
        out.message = "not sent: order type " + std::string(order_type) + " (MARKET or LIMIT)";
        return out;
    }
    const InstrumentRules& rules = gw_.instrument(t_.category, t_.symbol);
    const SizedQty sized = size_order(qty, rules, price);
    if (!sized.refusal.empty()) {
        out.state = quant::OrderState::rejected;
        out.message = "not sent: " + sized.refusal;
        pq::log_warn("bybit_order_refused",
                     {{"client_order_id", client_order_id}, {"reason", sized.refusal}});
        return out;
    }
    out.qty = sized.qty;
    Json body = {{"category", std::string(category_name(t_.category))},
                 {"symbol", t_.symbol},
                 {"side", side_text(side)},
                 {"orderType", limit ? "Limit" : "Market"},
                 {"qty", sized.text},
                 {"orderLinkId", std::string(client_order_id)}};
    if (limit && price)
        body["price"] = decimal_text(*price, rules.tick_size);
    if (t_.category == Category::spot && !limit)
        body["marketUnit"] = "baseCoin";  // qty in BTC, not USDT (brokers.md §1.3)
    if (t_.category == Category::linear)
        body["positionIdx"] = 0;  // one-way mode
    Reply r;
    try {
        r = post("/v5/order/create", body);
    } catch (const quant::BrokerError& e) {
        // the request may have reached Bybit: look it up before anything else
        pq::log_warn("bybit_create_in_doubt", {{"client_order_id", client_order_id}, {"error", e.what()}});
        if (auto found = order_by_client_id(client_order_id))
            return quant::is_terminal(found->state) ? *found : follow(out.client_order_id, *found);
        r = post("/v5/order/create", body);  // never arrived: the same orderLinkId again
    }
    switch (classify(r.ret_code)) {
        case Outcome::ok:
            out.broker_order_id = r.result.value("orderId", "");
            out.state = quant::OrderState::sent;
            return follow(out.client_order_id, out);
        case Outcome::duplicate:
            pq::log_info("bybit_duplicate", {{"client_order_id", client_order_id},
                                             {"note", "the order exists: looked up, not re-sent"}});
            out.state = quant::OrderState::sent;
            return follow(out.client_order_id, out);
        case Outcome::retry:
        case Outcome::clock:
        case Outcome::rate_limited:
            throw quant::BrokerError("bybit: order/create: " + reason(r.ret_code, r.ret_msg));
        case Outcome::fatal:
            pq::log_error("bybit_fatal",
                          {{"client_order_id", client_order_id}, {"reason", reason(r.ret_code, r.ret_msg)}});
            [[fallthrough]];
        case Outcome::rejected:
        case Outcome::not_found:
            out.state = quant::OrderState::rejected;
            out.message = "bybit " + reason(r.ret_code, r.ret_msg);
            return out;
    }
    return out;
}

std::vector<quant::PositionInfo> BybitAdapter::get_positions() {
    require_connected();
    std::vector<quant::PositionInfo> out;
    if (t_.category == Category::linear) {
        const Reply r = get("/v5/position/list", {{"category", "linear"}, {"symbol", t_.symbol}});
        if (r.ret_code != 0)
            throw quant::BrokerError("bybit: position/list: " + reason(r.ret_code, r.ret_msg));
        for (const Json& p : list_of(r)) {
            const double size = number(p, "size").value_or(0.0);
            const std::string side = p.value("side", "");
            if (size == 0 || side.empty())
                continue;
            out.push_back({.symbol = p.value("symbol", ""),
                           .qty = side == "Sell" ? -size : size,
                           .avg_price = number(p, "avgPrice").value_or(0.0)});
        }
        return out;
    }
    // spot: the position is the base coin's balance the deployment owns (no shorting)
    const InstrumentRules& rules = gw_.instrument(t_.category, t_.symbol);
    const Reply r =
        get("/v5/account/wallet-balance", {{"accountType", "UNIFIED"}, {"coin", rules.base_coin}});
    if (r.ret_code != 0)
        throw quant::BrokerError("bybit: wallet-balance: " + reason(r.ret_code, r.ret_msg));
    for (const Json& acct : list_of(r)) {
        for (const Json& c : acct.value("coin", Json::array())) {
            if (c.value("coin", "") != rules.base_coin)
                continue;
            // what the deployment bought and still holds: the books' position, at most the
            // balance (coins held before, or another deployment's, never count; coins gone
            // elsewhere, or paid as fees in the coin, reduce it)
            const double bal = number(c, "walletBalance").value_or(0.0);
            const double qty = std::min(bal, std::max(t_.booked_qty, 0.0));
            if (qty > 0)
                out.push_back({.symbol = t_.symbol, .qty = qty, .avg_price = 0.0});
        }
    }
    return out;
}

std::vector<quant::OrderResult> BybitAdapter::get_orders() {
    require_connected();
    const Reply r = get("/v5/order/realtime",
                        {{"category", std::string(category_name(t_.category))}, {"symbol", t_.symbol}});
    if (r.ret_code != 0)
        throw quant::BrokerError("bybit: order/realtime: " + reason(r.ret_code, r.ret_msg));
    std::vector<quant::OrderResult> out;
    for (const Json& item : list_of(r))
        out.push_back(parse_order(item));
    return out;
}

quant::AccountInfo BybitAdapter::get_account_info() {
    require_connected();
    const InstrumentRules& rules = gw_.instrument(t_.category, t_.symbol);
    const Reply r = get("/v5/account/wallet-balance", {{"accountType", "UNIFIED"}});
    if (r.ret_code != 0)
        throw quant::BrokerError("bybit: wallet-balance: " + reason(r.ret_code, r.ret_msg));
    quant::AccountInfo info;
    info.account = "UNIFIED";
    info.currency = rules.quote_coin;
    bool found = false;
    for (const Json& acct : list_of(r)) {
        for (const Json& c : acct.value("coin", Json::array())) {
            if (c.value("coin", "") != rules.quote_coin)
                continue;
            const double bal = number(c, "walletBalance").value_or(0.0);
            info.cash = bal - number(c, "locked").value_or(0.0);
            info.starting_cash = bal;
            found = true;
        }
        if (!found) {
            if (const auto avail = number(acct, "totalAvailableBalance")) {
                info.cash = *avail;
                info.currency = "USD";
                found = true;
            }
        }
    }
    if (!found)
        info.cash = 0;  // no quote coin at all: nothing to buy with
    return info;
}

std::vector<quant::BarData> BybitAdapter::fetch_bars(std::string_view symbol, std::string_view interval,
                                                     std::int64_t start_us, std::int64_t now_us) {
    // the live feed (worker/README.md "The feed"): newest-first pages of up to 1,000 candles
    // whose start is in [start, end], walked back with `end` until start is reached
    const auto code = kline_interval(interval);
    if (!code)
        throw quant::BrokerError("bybit: no kline interval for bar interval \"" + std::string(interval) +
                                 "\" (valid: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w)");
    const std::int64_t step = *interval_ms(*code);
    const std::int64_t now_ms = now_us / 1000;
    const std::int64_t start_ms = start_us <= 0 ? 0 : (start_us + 999) / 1000;
    constexpr std::size_t page_size = 1000;
    constexpr int max_pages = 2000;  // 2M candles: a runaway answer stops here
    std::vector<quant::BarData> out;
    std::int64_t end_ms = now_ms;
    for (int page = 0; page < max_pages && end_ms >= start_ms; ++page) {
        const Params q{{"category", std::string(category_name(t_.category))},
                       {"symbol", std::string(symbol)},
                       {"interval", *code},
                       {"start", std::to_string(start_ms)},
                       {"end", std::to_string(end_ms)},
                       {"limit", std::to_string(page_size)}};
        const Reply r = gw_.get_public("/v5/market/kline", q);
        if (r.ret_code != 0)
            throw quant::BrokerError("bybit: kline " + std::string(symbol) + ": " +
                                     reason(r.ret_code, r.ret_msg));
        const Json& list = list_of(r);
        if (list.empty())
            break;
        const auto page_bars = parse_klines(list, step, now_ms);  // forming candle dropped, oldest first
        std::int64_t oldest_ms = end_ms;
        for (const Json& row : list) {
            if (row.is_array() && !row.empty()) {
                const Json cell = Json::object({{"v", row[0]}});
                if (const auto t = number(cell, "v"))
                    oldest_ms = std::min(oldest_ms, static_cast<std::int64_t>(*t));
            }
        }
        out.insert(out.end(), page_bars.begin(), page_bars.end());
        if (list.size() < page_size || oldest_ms >= end_ms)
            break;  // the last page, or an answer that does not move back
        end_ms = oldest_ms - 1;
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts_us < b.ts_us; });
    out.erase(
        std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts_us == b.ts_us; }),
        out.end());
    std::erase_if(out, [&](const quant::BarData& b) { return b.ts_us < start_us; });
    return out;
}

}  // namespace quant::bybit
