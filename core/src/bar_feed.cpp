#include "quant/bar_feed.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "quant/bar_interval.hpp"
#include "quant/bars.hpp"

namespace quant {
namespace {

std::string row_text(std::size_t row) {
    return "bar " + std::to_string(row);
}

std::optional<BarProblem> price_problem(const BarData& b, std::size_t row) {
    const struct {
        const char* name;
        double v;
    } prices[] = {{"open", b.open}, {"high", b.high}, {"low", b.low}, {"close", b.close}};
    for (const auto& p : prices) {
        if (!std::isfinite(p.v) || p.v <= 0) {
            return BarProblem{row, p.name,
                              row_text(row) + " (" + format_timestamp(b.ts_us) + "): " + p.name +
                                  " must be a positive finite price, got " + std::to_string(p.v)};
        }
    }
    if (b.high < b.low)
        return BarProblem{row, "high",
                          row_text(row) + " (" + format_timestamp(b.ts_us) + "): high " +
                              std::to_string(b.high) + " is below low " + std::to_string(b.low)};
    for (const auto& p : {prices[0], prices[3]}) {
        if (p.v < b.low || p.v > b.high)
            return BarProblem{row, p.name,
                              row_text(row) + " (" + format_timestamp(b.ts_us) + "): " + p.name + " " +
                                  std::to_string(p.v) + " is outside [low, high] = [" +
                                  std::to_string(b.low) + ", " + std::to_string(b.high) + "]"};
    }
    if (!std::isfinite(b.volume) || b.volume < 0)
        return BarProblem{row, "volume",
                          row_text(row) + " (" + format_timestamp(b.ts_us) +
                              "): volume must be finite and not negative, got " + std::to_string(b.volume)};
    return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> bar_interval_us(std::string_view interval) {
    const BarIntervalInfo* info = find_bar_interval(interval);
    if (info == nullptr)
        return std::nullopt;
    return info->seconds * 1'000'000;
}

std::optional<BarProblem> validate_bars(std::span<const BarData> bars, const BarIntervalInfo& interval,
                                        std::int64_t now_us) {
    const std::int64_t interval_us = interval.seconds * 1'000'000;
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const BarData& b = bars[i];
        if (i > 0 && b.ts_us == bars[i - 1].ts_us)
            return BarProblem{
                i, "ts",
                row_text(i) + ": ts " + format_timestamp(b.ts_us) + " repeats bar " + std::to_string(i - 1)};
        if (i > 0 && b.ts_us < bars[i - 1].ts_us)
            return BarProblem{i, "ts",
                              row_text(i) + ": ts " + format_timestamp(b.ts_us) + " is before bar " +
                                  std::to_string(i - 1) + " (" + format_timestamp(bars[i - 1].ts_us) +
                                  "): times must ascend"};
        if (b.ts_us > now_us - interval_us)
            return BarProblem{i, "ts",
                              row_text(i) + ": the bar at " + format_timestamp(b.ts_us) + " closes at " +
                                  format_timestamp(b.ts_us + interval_us) + ", after now (" +
                                  format_timestamp(now_us) + "): a forming or future bar"};
        if (!bar_is_aligned(b.ts_us, interval))
            return BarProblem{i, "ts",
                              row_text(i) + ": ts " + format_timestamp(b.ts_us) + " is not on the " +
                                  std::string(interval.name) + " grid (bars open at whole intervals" +
                                  (interval.offset_seconds != 0 ? ", weekly bars on Mondays" : "") +
                                  ", UTC)"};
        if (auto p = price_problem(b, i))
            return p;
    }
    return std::nullopt;
}

std::vector<BarData> closed_bars(std::span<const BarData> bars, std::int64_t interval_us,
                                 std::int64_t now_us) {
    std::vector<BarData> out;
    out.reserve(bars.size());
    for (const BarData& b : bars) {
        if (b.ts_us <= now_us - interval_us)
            out.push_back(b);
    }
    return out;
}

std::vector<BarGap> find_gaps(std::span<const std::int64_t> ts_us, std::int64_t interval_us, bool continuous,
                              std::optional<std::int64_t> previous_us) {
    constexpr std::int64_t day_us = 86'400'000'000;
    const std::int64_t allowed = continuous ? interval_us : std::max(interval_us, 4 * day_us);
    std::vector<BarGap> gaps;
    std::optional<std::int64_t> prev = previous_us;
    for (const std::int64_t t : ts_us) {
        if (prev && t - *prev > allowed)
            gaps.push_back({*prev, t, (t - *prev) / interval_us - 1});
        prev = t;
    }
    return gaps;
}

std::int64_t fetch_start(std::int64_t now_us, std::int64_t interval_us, std::size_t bars_needed,
                         bool continuous, std::optional<std::int64_t> last_bar_us, std::size_t bars_stored) {
    if (last_bar_us && bars_stored >= bars_needed)
        return *last_bar_us + interval_us;
    constexpr std::int64_t day_us = 86'400'000'000;
    const auto n = static_cast<double>(bars_needed + 1);  // +1: the forming one is not a bar
    double span = n * static_cast<double>(interval_us);
    if (!continuous)
        span = interval_us >= day_us ? span * 7.0 / 5.0 + 7.0 * static_cast<double>(day_us) : span * 6.0;
    return now_us - static_cast<std::int64_t>(span);
}

}  // namespace quant
