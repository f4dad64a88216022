// Bybit V5 REST, the pure part (no I/O): environments and base URLs, the HMAC signature, the
// query string, instrument rules and quantity rounding, retCode -> reason, order status ->
// OrderState, the kline pages. Every fact is ../shared/docs/brokers.md §1 (cited there).
// BybitAdapter (bybit_adapter.cpp) does the HTTP around it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quant/json.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::bybit {

// The account a key belongs to (a key works on its own environment only, brokers.md §1.1).
enum class Environment { mainnet, testnet, demo };
std::string_view environment_name(Environment e);  // "mainnet", "testnet", "demo"
std::optional<Environment> parse_environment(std::string_view s);
inline constexpr const char* environment_names = "mainnet, testnet, demo";
// The deployment's environment: paper=true trades on Bybit's demo account (mainnet prices,
// simulated funds), paper=false on mainnet (behind the live gate).
Environment environment_for(bool paper);
std::string_view default_base_url(Environment e);

// A base URL the adapter accepts: https://host[:port], or http:// to a loopback host only
// (127.0.0.1, ::1, localhost: the local fake). Returns the URL without a trailing slash;
// throws std::invalid_argument naming the rule otherwise.
std::string checked_base_url(std::string_view url);

enum class Category { spot, linear };
std::string_view category_name(Category c);  // "spot", "linear"
std::optional<Category> parse_category(std::string_view s);

// ---- signing (brokers.md §1.2) ----
// Lowercase hex HMAC-SHA256(secret, message).
std::string hmac_sha256_hex(std::string_view secret, std::string_view message);
// timestamp + api_key + recv_window + payload (the query string without '?', or the body),
// plain concatenation.
std::string string_to_sign(std::int64_t timestamp_ms, std::string_view api_key, std::int64_t recv_window_ms,
                           std::string_view payload);
std::string signature(std::string_view secret, std::int64_t timestamp_ms, std::string_view api_key,
                      std::int64_t recv_window_ms, std::string_view payload);

// k=v&k=v in the given order; bytes outside [A-Za-z0-9-_.~] are percent-encoded (the values the
// adapter sends need none, so the signed string is the string Bybit sees either way).
using Params = std::vector<std::pair<std::string, std::string>>;
std::string query_string(const Params& params);

// ---- numbers ----
// A Bybit number: a JSON string ("0.001", "" = absent) or a number; nullopt when absent or bad.
std::optional<double> number(const Json& obj, const char* key);
// The text of v with exactly the decimals of step ("0.001" -> 3), no exponent: what goes into
// qty/price fields.
std::string decimal_text(double v, double step);

// ---- instruments (GET /v5/market/instruments-info) ----
struct InstrumentRules {
    std::string symbol;
    Category category = Category::linear;
    double qty_step = 0;      // linear lotSizeFilter.qtyStep; spot basePrecision
    double min_qty = 0;       // minOrderQty
    double max_qty = 0;       // maxOrderQty (max market qty for linear when given); 0 = none
    double min_notional = 0;  // linear minNotionalValue; spot minOrderAmt
    double tick_size = 0;     // priceFilter.tickSize
    std::string status;       // "Trading" when tradable
    std::string base_coin;    // baseCoin (BTC of BTCUSDT): a spot position is its balance
    std::string quote_coin;   // quoteCoin (USDT)
};
// One element of result.list; throws BrokerError when a required filter is missing.
InstrumentRules parse_instrument(const Json& item, Category category);

struct SizedQty {
    double qty = 0;       // rounded down to the step
    std::string text;     // as sent
    std::string refusal;  // non-empty: the order must not be sent (REJECTED with this reason)
};
// Rounds qty down to the step (a tolerance of 1e-9 steps absorbs binary noise) and checks
// the minimum quantity, the maximum, the minimum notional (when price is known) and the
// instrument status.
SizedQty size_order(double qty, const InstrumentRules& rules, std::optional<double> price);

// ---- replies ----
struct Reply {  // NOLINT(bugprone-exception-escape): nlohmann::json's noexcept moves only assert
    int http_status = 0;
    long long ret_code = -1;
    std::string ret_msg;
    Json result;  // object (may be empty)
    std::int64_t time_ms = 0;
};
// The envelope {retCode, retMsg, result, retExtInfo, time}; throws BrokerError when the body
// is not one.
Reply parse_reply(int http_status, std::string_view body);

// What a retCode means to the adapter (brokers.md §1.9).
enum class Outcome {
    ok,
    duplicate,     // 110072 / 170141 / 12141: the order exists, look it up
    clock,         // 10002: resync the clock once and retry
    rate_limited,  // 10006: wait until the reset timestamp
    retry,         // 10000, 10016: server side, reconcile then retry
    rejected,      // the broker refused this order (balance, qty, price...): an answer
    not_found,     // 110001: no such order
    fatal          // key, signature, permission, parameters: do not trade
};
Outcome classify(long long ret_code);
// A short reason for logs and REJECTED rows: "110007 available balance insufficient (...)".
std::string reason(long long ret_code, std::string_view ret_msg);

// ---- orders ----
// orderStatus -> the booked state: New/PartiallyFilled/Untriggered -> sent; Filled -> filled;
// Cancelled/PartiallyFilledCanceled/Deactivated with an executed qty -> filled (partial),
// without -> cancelled; Rejected -> rejected; anything else -> unknown.
quant::OrderState order_state(std::string_view order_status, double cum_exec_qty);
// One element of /v5/order/realtime or /history result.list.
quant::OrderResult parse_order(const Json& item);

// ---- klines (GET /v5/market/kline) ----
// Milliseconds of an interval code (1 3 5 15 30 60 120 240 360 720 D W; M has no fixed length:
// nullopt, as for anything else).
std::optional<std::int64_t> interval_ms(std::string_view code);
// result.list (newest first, string arrays) -> bars oldest first; a candle whose end is after
// now_ms is still forming and dropped.
std::vector<quant::BarData> parse_klines(const Json& list, std::int64_t interval_ms, std::int64_t now_ms);
// The kline interval code of a bar interval of the catalog (1m -> 1, 5m -> 5, 15m -> 15, 30m -> 30,
// 1h -> 60, 4h -> 240, 1d -> D, 1w -> W); nullopt for any other name.
std::optional<std::string> kline_interval(std::string_view bar_interval);

}  // namespace quant::bybit
