// The live loop's rules that are not risk checks, each written once and reached from SQL
// (thin fmgr functions) and from the worker: when a bar is too old to trade on, how large an
// unrealised loss is, and what a fill does to a signed position.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "quant/deployment_config.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

// The stale-bar limit of a deployment in hours, or nullopt when the check is off. Not given: the
// schedule's default (schedule_catalog()). Given as null: off for a paper deployment; a live one
// falls back to the default, so a bad row fails closed. Throws Error{invalid_argument} for an
// unknown schedule.
std::optional<double> max_bar_age_hours(const RiskLimits& limits, std::string_view schedule, bool paper);

// True when a bar stamped bar_ts_us is more than max_age_hours old at now_us (microseconds since
// the Unix epoch).
bool bar_is_stale(std::int64_t bar_ts_us, std::int64_t now_us, double max_age_hours);

// The unrealised loss of a signed position bought at average_price, valued at last_price, in
// percent of its entry value: positive is a loss (a long loses when the price falls, a short when
// it rises). NaN for a flat position or a non-positive price.
double unrealised_loss_pct(double position, double average_price, double last_price);

// A signed position after a fill of `delta` (signed) at `price`: its new quantity, its average
// entry price (NaN when flat; the fill price for the part beyond 0 when it flips) and the realised
// P&L of the part that closed. The paper broker and the live loop's books both use it.
struct PositionChange {
    double qty = 0;
    double avg_price = 0;
    double realized = 0;
};
PositionChange position_after(double qty, double average_price, double delta, double price);

}  // namespace quant
