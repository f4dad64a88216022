// The live feed's pure rules (quant/bar_feed.hpp): validation names the row and the field,
// the forming candle is dropped, gaps, and where a fetch starts.
#include "quant/bar_feed.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

constexpr std::int64_t minute = 60'000'000;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;
const quant::BarIntervalInfo& H = *quant::find_bar_interval("1h");

quant::BarData bar(std::int64_t ts, double o = 10, double h = 11, double l = 9, double c = 10.5,
                   double v = 1) {
    return {.ts_us = ts, .open = o, .high = h, .low = l, .close = c, .volume = v};
}

TEST(BarFeed, ACleanBatchPasses) {
    const std::vector<quant::BarData> bars{bar(0), bar(hour), bar(2 * hour)};
    EXPECT_FALSE(quant::validate_bars(bars, H, 3 * hour).has_value());
    EXPECT_FALSE(quant::validate_bars({}, H, 0).has_value());
}

TEST(BarFeed, EachFieldIsNamedWithItsRow) {
    const double nan = std::nan("");
    const double inf = std::numeric_limits<double>::infinity();
    struct Case {
        quant::BarData b;
        const char* field;
    } cases[] = {
        {bar(hour, 0), "open"},
        {bar(hour, -1), "open"},
        {bar(hour, nan), "open"},
        {bar(hour, 10, inf), "high"},
        {bar(hour, 10, 11, 0), "low"},
        {bar(hour, 10, 11, 9, nan), "close"},
        {bar(hour, 10, 8, 9, 8.5), "high"},  // high below low
        {bar(hour, 12, 11, 9, 10), "open"},  // open above high
        {bar(hour, 10, 11, 9, 8), "close"},  // close below low
        {bar(hour, 10, 11, 9, 10, -1), "volume"},
        {bar(hour, 10, 11, 9, 10, nan), "volume"},
    };
    for (const auto& c : cases) {
        const std::vector<quant::BarData> bars{bar(0), c.b};
        const auto p = quant::validate_bars(bars, H, 10 * hour);
        ASSERT_TRUE(p.has_value()) << c.field;
        EXPECT_EQ(p->row, 1U);
        EXPECT_EQ(p->field, c.field);
        EXPECT_NE(p->message.find("bar 1"), std::string::npos) << p->message;
        EXPECT_NE(p->message.find(c.field), std::string::npos) << p->message;
    }
}

TEST(BarFeed, TimesMustAscendBeUniqueAndClosed) {
    auto p = quant::validate_bars(std::vector{bar(0), bar(hour), bar(hour)}, H, 10 * hour);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->row, 2U);
    EXPECT_EQ(p->field, "ts");
    EXPECT_NE(p->message.find("repeats"), std::string::npos);
    p = quant::validate_bars(std::vector{bar(2 * hour), bar(hour)}, H, 10 * hour);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->row, 1U);
    EXPECT_NE(p->message.find("ascend"), std::string::npos);
    // the bar at 9h closes at 10h: closed at 10h, forming at 10h - 1 us
    EXPECT_FALSE(quant::validate_bars(std::vector{bar(9 * hour)}, H, 10 * hour));
    p = quant::validate_bars(std::vector{bar(8 * hour), bar(9 * hour)}, H, 10 * hour - 1);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->row, 1U);
    EXPECT_EQ(p->field, "ts");
    EXPECT_NE(p->message.find("forming"), std::string::npos);
}

TEST(BarFeed, TimesMustBeOnTheIntervalsGrid) {
    auto p = quant::validate_bars(std::vector{bar(0), bar(hour + 30 * minute)}, H, 10 * hour);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->row, 1U);
    EXPECT_EQ(p->field, "ts");
    EXPECT_NE(p->message.find("grid"), std::string::npos) << p->message;
    // weekly bars open on Mondays (1970-01-05 is a Monday)
    const auto& w = *quant::find_bar_interval("1w");
    EXPECT_FALSE(quant::validate_bars(std::vector{bar(4 * day)}, w, 20 * day));
    EXPECT_TRUE(quant::validate_bars(std::vector{bar(0)}, w, 20 * day));
    EXPECT_EQ(quant::bar_interval_us("1w"), 7 * day);
    EXPECT_FALSE(quant::bar_interval_us("2h"));
}

TEST(BarFeed, ClosedBarsDropTheFormingCandle) {
    const std::vector<quant::BarData> bars{bar(0), bar(minute), bar(2 * minute)};
    const auto closed = quant::closed_bars(bars, minute, 2 * minute + 30'000'000);
    ASSERT_EQ(closed.size(), 2U);
    EXPECT_EQ(closed.back().ts_us, minute);
    EXPECT_EQ(quant::closed_bars(bars, minute, 3 * minute).size(), 3U);
    EXPECT_TRUE(quant::closed_bars(bars, minute, minute - 1).empty());
}

TEST(BarFeed, GapsOfAContinuousMarket) {
    const std::vector<std::int64_t> ts{0, hour, 4 * hour, 5 * hour};
    const auto gaps = quant::find_gaps(ts, hour, true);
    ASSERT_EQ(gaps.size(), 1U);
    EXPECT_EQ(gaps[0].after_us, hour);
    EXPECT_EQ(gaps[0].before_us, 4 * hour);
    EXPECT_EQ(gaps[0].missing, 2);
    // against the last stored bar
    const auto g2 = quant::find_gaps(std::vector<std::int64_t>{10 * hour}, hour, true, 7 * hour);
    ASSERT_EQ(g2.size(), 1U);
    EXPECT_EQ(g2[0].missing, 2);
    EXPECT_TRUE(quant::find_gaps(std::vector<std::int64_t>{8 * hour}, hour, true, 7 * hour).empty());
}

TEST(BarFeed, WeekendsAreNoGapsOnAnExchange) {
    // Friday -> Monday daily bars: 3 days apart; a 5-day hole is a gap
    const std::vector<std::int64_t> ts{0, 3 * day, 4 * day, 9 * day};
    EXPECT_EQ(quant::find_gaps(ts, day, true).size(), 2U);
    const auto gaps = quant::find_gaps(ts, day, false);
    ASSERT_EQ(gaps.size(), 1U);
    EXPECT_EQ(gaps[0].after_us, 4 * day);
    EXPECT_EQ(gaps[0].missing, 4);
}

TEST(BarFeed, FetchStartIncrementalOrBackFill) {
    const std::int64_t now = 1000 * day;
    // enough stored: the bar after the last one
    EXPECT_EQ(quant::fetch_start(now, hour, 50, true, now - 3 * hour, 100), now - 2 * hour);
    // nothing stored: bars_needed + 1 intervals back on a continuous market
    EXPECT_EQ(quant::fetch_start(now, hour, 50, true, std::nullopt, 0), now - 51 * hour);
    // too few stored: back-fill even though a last bar exists
    EXPECT_EQ(quant::fetch_start(now, hour, 50, true, now - hour, 10), now - 51 * hour);
    // an exchange: stretched for closed days and nights
    EXPECT_EQ(quant::fetch_start(now, day, 50, false, std::nullopt, 0),
              now - static_cast<std::int64_t>(51.0 * day * 7.0 / 5.0 + 7.0 * day));
    EXPECT_EQ(quant::fetch_start(now, hour, 50, false, std::nullopt, 0), now - std::int64_t{51} * 6 * hour);
}

}  // namespace
