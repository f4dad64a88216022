// The live feed's pure rules (issue 11 part 4): which fetched bars may be stored, which are
// still forming, where a series has gaps, and how far back a first fetch reaches. The feed
// process (worker/src/feed.cpp) gathers the bars through TradeAdapter::fetch_bars and records
// what these functions decide; nothing here does I/O.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/bar_interval.hpp"
#include "quant/no_postgres.hpp"
#include "quant/trade_adapter.hpp"

namespace quant {

// The length of a bar interval of the catalog (quant/bar_interval.hpp) in microseconds; nullopt
// for a name the catalog does not know.
std::optional<std::int64_t> bar_interval_us(std::string_view interval);

// The first problem of a fetched batch, naming the row (0-based, in the order received) and
// the field: `open`, `high`, `low`, `close`, `volume` (not finite, not positive, or volume
// negative; high below low, or open/close outside [low, high]) or `ts` (not ascending, a
// duplicate, not on the interval's grid (quant::bar_is_aligned), or a bar that has not closed at
// now_us).
struct BarProblem {
    std::size_t row = 0;
    std::string field;
    std::string message;
};

// Checks every bar of a batch (ascending, unique, aligned times, closed at now_us: ts + interval <=
// now_us; positive finite prices, high >= low, open and close within [low, high], volume finite
// and >= 0). interval_us > 0. nullopt when the batch is clean (an empty batch is clean).
std::optional<BarProblem> validate_bars(std::span<const BarData> bars, const BarIntervalInfo& interval,
                                        std::int64_t now_us);

// The bars whose interval has closed at now_us (ts + interval_us <= now_us): the caller's rule
// for the still-forming candle, applied before validation. Order is kept.
std::vector<BarData> closed_bars(std::span<const BarData> bars, std::int64_t interval_us,
                                 std::int64_t now_us);

// A hole in a series: `missing` whole intervals between the bar at `after_us` and the next at
// `before_us`.
struct BarGap {
    std::int64_t after_us = 0;
    std::int64_t before_us = 0;
    std::int64_t missing = 0;
};

// The gaps of an ascending series (after `previous_us`, the last bar already stored, when
// given). A market that trades around the clock (continuous) has a gap wherever two bars are
// more than one interval apart; an exchange market only where they are more than four days apart
// (weekends, holidays and nights are not gaps), which is a heuristic, written in worker/README.md.
std::vector<BarGap> find_gaps(std::span<const std::int64_t> ts_us, std::int64_t interval_us, bool continuous,
                              std::optional<std::int64_t> previous_us = std::nullopt);

// Where a fetch starts. With a last stored bar: the interval after it (incremental). Without one,
// or with fewer than bars_needed stored: far enough back for bars_needed closed bars,
// bars_needed * interval_us for a continuous market, and for an exchange market that span
// stretched for the closed hours (x 7/5 for daily and weekly bars plus a week, x 6 intraday).
std::int64_t fetch_start(std::int64_t now_us, std::int64_t interval_us, std::size_t bars_needed,
                         bool continuous, std::optional<std::int64_t> last_bar_us, std::size_t bars_stored);

}  // namespace quant
