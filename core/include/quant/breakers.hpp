// Loss and drawdown breakers (issue 15): per deployment (its risk_limits) and per user account.
// Pure: the worker reads the fills and the latest prices (trade.worker_breaker_facts) and
// records what this decides (trade.worker_trip_breaker). P&L is booked with position_after,
// the arithmetic of the paper broker and of trade.position.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "quant/json.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

// The breakers of one scope; a limit not given is off.
struct BreakerLimits {
    std::optional<double> max_daily_loss;      // currency: loss since the start of the UTC day
    std::optional<double> max_daily_loss_pct;  // of the equity at the start of the day
    std::optional<double> max_drawdown;        // currency: below the peak of equity
    std::optional<double> max_drawdown_pct;    // of the peak equity
    std::optional<double> max_open_exposure;   // account only: sum of |position| x price
    std::optional<int> max_consecutive_losses;
    bool flatten_on_breach = false;  // also flatten the positions when one trips
    // The equity the percentages are of (capital + P&L). Account: given (required with a
    // percentage); deployment: its max_position_usd.
    std::optional<double> capital;
    bool any() const;
};

// The breaker keys of a JSON object (max_daily_loss, max_daily_loss_pct, max_drawdown,
// max_drawdown_pct, max_consecutive_losses, flatten_on_breach), other keys ignored; errors name
// prefix + key. The Deployment parser reads risk_limits' with it.
BreakerLimits parse_breaker_fields(const Json& obj, const std::string& prefix);

// Account limits as quant.set_account_limits takes them: the keys above plus capital. Throws
// Error{invalid_config} naming the field (account_limits.<key>) with the valid values.
BreakerLimits parse_account_limits(const Json& doc);
Json to_json_account(const BreakerLimits& limits);

// One fill as booked: signed quantity (buy > 0), price, fee, time in microseconds.
struct BookFill {
    std::int64_t ts_us = 0;
    double qty = 0;
    double price = 0;
    double fee = 0;
};
struct Book {
    std::vector<BookFill> fills;  // in time order
    std::optional<double> price;  // the latest price of what it trades
};

// What the breakers look at, over one or more books merged in time order. P&L is realised
// minus fees plus unrealised; each book is marked at its latest price now, and at its own
// latest fill price at earlier moments (the day's start, the peak).
struct PnlFigures {
    double pnl_now = 0;
    double pnl_day_start = 0;    // after the last fill before max(day start, since)
    double peak_pnl = 0;         // the highest P&L from `since` on (now included)
    double exposure = 0;         // sum of |position| x price now
    int consecutive_losses = 0;  // closing fills (from `since` on) that lost, net of fees, in a row
    bool priced = true;          // every open position has a latest price
    double daily_loss() const { return pnl_day_start - pnl_now; }
    double drawdown() const { return peak_pnl - pnl_now; }
};
PnlFigures measure_books(const std::vector<Book>& books, std::int64_t since_us, std::int64_t day_start_us);

struct BreakerTrip {
    std::string breaker;  // the limit's name, e.g. "max_daily_loss"
    double value = 0;
    double limit = 0;
    std::string message;
};

// The first limit passed (in the order of BreakerLimits' fields), or nullopt. Amounts trip
// when they pass the limit, the losing streak when it reaches it. The P&L breakers are not
// judged while a position has no price (the risk checks refuse entries then anyway).
std::optional<BreakerTrip> first_breach(const BreakerLimits& limits, const PnlFigures& f);

// The worker's whole decision from trade.worker_breaker_facts: the deployment's breakers
// (risk_limits, capital max_position_usd, its own book, since its last reset), then the
// account's (account_limits, every book, since the account's last reset).
struct ScopedTrip {
    std::string scope;  // "deployment" or "account"
    BreakerTrip trip;
};
std::optional<ScopedTrip> evaluate_breakers(const Json& facts);

}  // namespace quant
