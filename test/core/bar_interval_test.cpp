// The bar interval catalog (core/include/quant/bar_interval.hpp), the schedule/interval rule of
// quant/catalog.hpp and the Strategy JSON's `interval` (quant/strategy_config.hpp).
#include "quant/bar_interval.hpp"

#include <gtest/gtest.h>

#include <string>

#include "quant/catalog.hpp"
#include "quant/error.hpp"
#include "quant/strategy_config.hpp"

namespace {

using quant::ErrorCode;

constexpr std::int64_t us = 1000000;
constexpr std::int64_t day = 86400;

TEST(BarInterval, CatalogInOrderWithLengths) {
    const auto cat = quant::bar_interval_catalog();
    ASSERT_EQ(cat.size(), 8U);
    const char* names[] = {"1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"};
    const std::int64_t seconds[] = {60, 300, 900, 1800, 3600, 14400, 86400, 604800};
    for (std::size_t i = 0; i < cat.size(); ++i) {
        EXPECT_EQ(cat[i].name, names[i]);
        EXPECT_EQ(cat[i].seconds, seconds[i]);
        EXPECT_GT(cat[i].equity_bars_per_year, 0);
        EXPECT_GE(cat[i].crypto_bars_per_year, cat[i].equity_bars_per_year);
        EXPECT_FALSE(cat[i].description.empty());
    }
    EXPECT_EQ(quant::bar_interval_names(), "1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w");
    EXPECT_EQ(quant::find_bar_interval(quant::default_bar_interval)->seconds, 86400);
}

TEST(BarInterval, CryptoBarsAYearAreTheYearOverTheLength) {
    for (const auto& i : quant::bar_interval_catalog()) {
        if (i.name != "1w") {
            EXPECT_EQ(static_cast<std::int64_t>(i.crypto_bars_per_year) * i.seconds, 365 * day) << i.name;
        }
    }
    EXPECT_EQ(quant::find_bar_interval("1h")->equity_bars_per_year, 1638);
    EXPECT_EQ(quant::find_bar_interval("1d")->equity_bars_per_year, 252);
}

TEST(BarInterval, ParseNamesTheFieldAndTheValidValues) {
    EXPECT_EQ(quant::parse_bar_interval("4h", "interval").seconds, 14400);
    try {
        (void)quant::parse_bar_interval("1H", "bars.interval", ErrorCode::invalid_config);
        FAIL() << "no error";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_config);
        EXPECT_EQ(e.field(), "bars.interval");
        EXPECT_EQ(std::string(e.what()), "bars.interval: unknown bar interval \"1H\"");
        EXPECT_EQ(e.hint(), "valid intervals: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w");
    }
    EXPECT_EQ(quant::find_bar_interval(""), nullptr);
}

TEST(BarInterval, Alignment) {
    const auto& h = *quant::find_bar_interval("1h");
    const auto& w = *quant::find_bar_interval("1w");
    const auto& d = *quant::find_bar_interval("1d");
    const std::int64_t t2024 = 1704067200;  // 2024-01-01 00:00 UTC, a Monday
    EXPECT_TRUE(quant::bar_is_aligned(t2024 * us, h));
    EXPECT_TRUE(quant::bar_is_aligned((t2024 + 3600) * us, h));
    EXPECT_FALSE(quant::bar_is_aligned((t2024 + 1800) * us, h));
    EXPECT_FALSE(quant::bar_is_aligned(t2024 * us + 1, h));
    EXPECT_TRUE(quant::bar_is_aligned(t2024 * us, w));
    EXPECT_FALSE(quant::bar_is_aligned((t2024 + day) * us, w));  // a Tuesday
    EXPECT_TRUE(quant::bar_is_aligned((t2024 - 7 * day) * us, w));
    EXPECT_TRUE(quant::bar_is_aligned(-day * us, d));  // before the epoch
    EXPECT_FALSE(quant::bar_is_aligned(-3600 * us, d));
    EXPECT_EQ(quant::bar_close_us(t2024 * us, h), (t2024 + 3600) * us);
}

TEST(BarInterval, TradingPeriodWarning) {
    const auto& h = *quant::find_bar_interval("1h");
    const auto& d = *quant::find_bar_interval("1d");
    EXPECT_FALSE(quant::trading_period_warning(252, d));
    EXPECT_FALSE(quant::trading_period_warning(365, d));
    EXPECT_FALSE(quant::trading_period_warning(8760, h));
    EXPECT_FALSE(quant::trading_period_warning(1638, h));
    EXPECT_FALSE(quant::trading_period_warning(1386, h));  // Hong Kong's 5.5-hour sessions
    const auto w = quant::trading_period_warning(252, h);
    ASSERT_TRUE(w);
    EXPECT_EQ(
        w->rfind("trading_period: 252 bars a year does not fit 1h bars (8760 for crypto, about 1638 for US "
                 "equities)",
                 0),
        0U);
    EXPECT_TRUE(quant::trading_period_warning(8760, d));
    EXPECT_TRUE(quant::trading_period_warning(100, d));
}

TEST(BarInterval, ScheduleMustFitTheInterval) {
    EXPECT_NO_THROW(quant::check_schedule_fits_interval("hourly", "1h"));
    EXPECT_NO_THROW(quant::check_schedule_fits_interval("daily_close", "1d"));
    for (const auto& i : quant::bar_interval_catalog())
        EXPECT_NO_THROW(quant::check_schedule_fits_interval("manual", i.name));
    try {
        quant::check_schedule_fits_interval("hourly", "1d");
        FAIL() << "no error";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_config);
        EXPECT_EQ(e.field(), "schedule");
        EXPECT_EQ(std::string(e.what()),
                  "schedule: \"hourly\" runs on 1h bars but the strategy's interval is 1d");
        EXPECT_EQ(e.hint(), "schedules that fit 1d bars: daily_close, manual");
    }
    EXPECT_THROW(quant::check_schedule_fits_interval("daily_close", "4h"), quant::Error);
    try {
        quant::check_schedule_fits_interval("weekly", "1d");
        FAIL() << "no error";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.field(), "schedule");
    }
}

const char* const hourly =
    R"({"ticker": "BTC-USD", "interval": "1h", "trading_period": 8760, "substrategies": [
    {"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]})";

TEST(StrategyInterval, ParsedAndWrittenWhenNotTheDefault) {
    const auto cfg = quant::parse_strategy_config(std::string_view(hourly));
    EXPECT_EQ(cfg.interval->name, "1h");
    EXPECT_TRUE(cfg.warnings.empty());
    EXPECT_EQ(quant::to_json(cfg)["interval"], "1h");
    const auto again = quant::parse_strategy_config(quant::to_json(cfg));
    EXPECT_EQ(again.interval->name, "1h");

    auto daily = quant::Json::parse(hourly);
    daily.erase("interval");
    daily["trading_period"] = 252;
    const auto d = quant::parse_strategy_config(daily);
    EXPECT_EQ(d.interval->name, "1d");
    EXPECT_FALSE(quant::to_json(d).contains("interval"));  // stored daily strategies unchanged
    daily["interval"] = nullptr;
    EXPECT_EQ(quant::parse_strategy_config(daily).interval->name, "1d");
}

TEST(StrategyInterval, BadValuesNameTheField) {
    auto j = quant::Json::parse(hourly);
    for (const quant::Json& bad : {quant::Json("hourly"), quant::Json(60), quant::Json("1H")}) {
        j["interval"] = bad;
        try {
            (void)quant::parse_strategy_config(j);
            FAIL() << bad.dump();
        } catch (const quant::Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_config);
            EXPECT_EQ(e.field(), "interval");
            EXPECT_NE(e.hint().find("1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"), std::string::npos) << e.hint();
        }
    }
}

TEST(StrategyInterval, TradingPeriodThatDoesNotFitIsAStrongWarning) {
    auto j = quant::Json::parse(hourly);
    j["trading_period"] = 252;
    const auto cfg = quant::parse_strategy_config(j);
    ASSERT_EQ(cfg.warnings.size(), 1U);
    EXPECT_TRUE(quant::warning_is_strong(cfg.warnings[0]));
    EXPECT_EQ(cfg.warnings[0].rfind("trading_period: ", 0), 0U);
}

}  // namespace
