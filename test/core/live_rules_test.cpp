// The live loop's rules of quant/live_rules.hpp and the catalogs they read (quant/catalog.hpp).
#include "quant/live_rules.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "quant/catalog.hpp"
#include "quant/error.hpp"
#include "quant/trading.hpp"

namespace {

TEST(StaleBar, LimitFromTheScheduleOrTheDeployment) {
    quant::RiskLimits limits;
    EXPECT_EQ(quant::max_bar_age_hours(limits, "daily_close", true), 96.0);
    EXPECT_EQ(quant::max_bar_age_hours(limits, "hourly", false), 2.0);
    EXPECT_EQ(quant::max_bar_age_hours(limits, "manual", false), 96.0);
    limits.has_max_bar_age_hours = true;
    limits.max_bar_age_hours = 5;
    EXPECT_EQ(quant::max_bar_age_hours(limits, "hourly", false), 5.0);
    limits.max_bar_age_hours = std::nan("");
    EXPECT_FALSE(quant::max_bar_age_hours(limits, "hourly", true).has_value()) << "null on paper: off";
    EXPECT_EQ(quant::max_bar_age_hours(limits, "hourly", false), 2.0) << "null on live: fail closed";
    EXPECT_THROW(quant::max_bar_age_hours(limits, "weekly", true), quant::Error);
}

TEST(StaleBar, OlderThanTheLimit) {
    const std::int64_t hour = 3600LL * 1000000;
    EXPECT_FALSE(quant::bar_is_stale(0, 96 * hour, 96));
    EXPECT_TRUE(quant::bar_is_stale(0, 96 * hour + 1, 96));
}

TEST(UnrealisedLoss, LongAndShortAndTheStopLossAgree) {
    EXPECT_NEAR(quant::unrealised_loss_pct(10, 50, 45), 10.0, 1e-12);
    EXPECT_NEAR(quant::unrealised_loss_pct(10, 50, 55), -10.0, 1e-12);
    EXPECT_NEAR(quant::unrealised_loss_pct(-10, 50, 55), 10.0, 1e-12);
    EXPECT_TRUE(std::isnan(quant::unrealised_loss_pct(0, 50, 45)));
    EXPECT_TRUE(std::isnan(quant::unrealised_loss_pct(10, 0, 45)));
    for (double last : {40.0, 47.4, 47.5, 47.6, 60.0}) {
        EXPECT_EQ(quant::stop_loss_triggered(10, 50, last, 5.0),
                  quant::unrealised_loss_pct(10, 50, last) > 5.0)
            << last;
    }
}

TEST(PositionAfter, OpenAddReduceCloseFlip) {
    auto p = quant::position_after(0, 0, 10, 50);
    EXPECT_EQ(p.qty, 10);
    EXPECT_EQ(p.avg_price, 50);
    EXPECT_EQ(p.realized, 0);
    p = quant::position_after(10, 50, 10, 60);
    EXPECT_EQ(p.qty, 20);
    EXPECT_EQ(p.avg_price, 55);
    p = quant::position_after(10, 50, -4, 60);
    EXPECT_EQ(p.qty, 6);
    EXPECT_EQ(p.avg_price, 50);
    EXPECT_EQ(p.realized, 40);
    p = quant::position_after(10, 50, -10, 60);
    EXPECT_EQ(p.qty, 0);
    EXPECT_TRUE(std::isnan(p.avg_price));
    EXPECT_EQ(p.realized, 100);
    p = quant::position_after(-10, 50, 15, 40);  // a short covered at a profit, then long 5 at 40
    EXPECT_EQ(p.qty, 5);
    EXPECT_EQ(p.avg_price, 40);
    EXPECT_EQ(p.realized, 100);
}

TEST(Catalogs, OrderStatesAndTheTerminalRule) {
    for (auto s : {quant::OrderState::new_order, quant::OrderState::sent, quant::OrderState::filled,
                   quant::OrderState::rejected, quant::OrderState::cancelled, quant::OrderState::unknown}) {
        EXPECT_EQ(quant::parse_order_state(quant::order_state_name(s)), s);
    }
    EXPECT_EQ(quant::parse_order_state("PARTIAL"), quant::OrderState::unknown);
    EXPECT_TRUE(quant::is_terminal(quant::OrderState::filled));
    EXPECT_FALSE(quant::is_terminal(quant::OrderState::unknown));
    EXPECT_EQ(quant::broker_names(), "PAPER, BYBIT, FUTU");
    EXPECT_EQ(quant::market_names(), "US, HK, CRYPTO");
    EXPECT_EQ(quant::schedule_names(), "daily_close, hourly, manual");
    EXPECT_FALSE(quant::find_broker("PAPER")->trades_live);
    EXPECT_FALSE(quant::find_market("CRYPTO")->whole_shares);
}

}  // namespace
