#include "quant/live_rules.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "quant/catalog.hpp"
#include "quant/error.hpp"

namespace quant {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double micros_per_hour = 3600.0 * 1e6;

double sign(double v) {
    return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0);
}

}  // namespace

std::optional<double> max_bar_age_hours(const RiskLimits& limits, std::string_view schedule, bool paper) {
    const ScheduleInfo* s = find_schedule(schedule);
    if (s == nullptr) {
        throw Error(ErrorCode::invalid_argument, "schedule",
                    "schedule: unknown schedule \"" + std::string(schedule) + "\"",
                    "valid schedules: " + schedule_names());
    }
    if (!limits.has_max_bar_age_hours)
        return s->default_max_bar_age_hours;
    if (!std::isnan(limits.max_bar_age_hours))
        return limits.max_bar_age_hours;
    if (paper)
        return std::nullopt;
    return s->default_max_bar_age_hours;
}

bool bar_is_stale(std::int64_t bar_ts_us, std::int64_t now_us, double max_age_hours) {
    return static_cast<double>(now_us - bar_ts_us) > max_age_hours * micros_per_hour;
}

double unrealised_loss_pct(double position, double average_price, double last_price) {
    if (position == 0.0 || !(average_price > 0.0) || !(last_price > 0.0))
        return nan;
    const double move = (last_price - average_price) / average_price;  // signed return of a long
    const double loss = position > 0 ? -move : move;
    return loss * 100.0;
}

PositionChange position_after(double qty, double average_price, double delta, double price) {
    PositionChange out;
    out.qty = qty + delta;
    if (qty == 0.0 || sign(qty) == sign(delta)) {  // opening or adding
        out.avg_price =
            out.qty == 0.0 ? nan
                           : (std::fabs(qty) * average_price + std::fabs(delta) * price) / std::fabs(out.qty);
        return out;
    }
    const double closing = std::min(std::fabs(qty), std::fabs(delta));
    out.realized = (price - average_price) * closing * sign(qty);
    if (out.qty == 0.0)
        out.avg_price = nan;
    else
        out.avg_price =
            sign(out.qty) == sign(qty) ? average_price : price;  // flipped: the rest opened at price
    return out;
}

}  // namespace quant
