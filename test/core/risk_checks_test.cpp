// The risk checks against the instrument actually traded, and shorts (cash and margin), on
// hand-worked cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/trading.hpp"

namespace {

using quant::PlannedOrder;
using quant::Side;

quant::RiskFacts facts_at(double price, double cash, double position) {
    quant::RiskFacts f;
    f.enabled = true;
    f.broker_connected = true;
    f.price = price;
    f.cash = cash;
    f.position = position;
    f.symbol = f.price_symbol = "MSFT";
    return f;
}

// The audit's case: 1,500 MSFT at 49.96 is 74,940 USD, whatever the strategy's data ticker costs.
TEST(RiskChecksSymbol, MaxPositionIsPricedOnTheTradedSymbol) {
    quant::RiskLimits limits;  // max_position_usd 10,000
    const PlannedOrder buy{Side::buy, 1500, false, "open"};
    const auto d = quant::check_order(buy, limits, facts_at(49.96, 100000.0, 0.0));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.code, "max_position");
    // 200 MSFT (9,992 USD) is within the limit
    EXPECT_TRUE(
        quant::check_order({Side::buy, 200, false, "open"}, limits, facts_at(49.96, 100000.0, 0.0)).allowed);
}

TEST(RiskChecksSymbol, APriceOfAnotherSymbolIsNoPrice) {
    const quant::RiskLimits limits;
    const PlannedOrder buy{Side::buy, 10, false, "open"};
    auto f = facts_at(0.52, 100000.0, 0.0);
    f.price_symbol = "PENNY";  // the strategy's data ticker, not what the broker fills
    auto d = quant::check_order(buy, limits, f);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.code, "price_symbol");
    EXPECT_NE(d.message.find("PENNY"), std::string::npos) << d.message;
    EXPECT_NE(d.message.find("MSFT"), std::string::npos) << d.message;
    f.price_symbol.clear();  // unnamed: fail closed too
    EXPECT_EQ(quant::check_order(buy, limits, f).code, "price_symbol");
    f.symbol.clear();
    EXPECT_EQ(quant::check_order(buy, limits, f).code, "price_symbol");
    // an exit needs no price, so it is never trapped by a missing one
    auto g = facts_at(0.52, 100000.0, 10.0);
    g.price_symbol = "PENNY";
    EXPECT_TRUE(quant::check_order({Side::sell, 10, true, "close"}, limits, g).allowed);
}

TEST(RiskChecksShort, ShortsMeetTheSameLimits) {
    quant::RiskLimits limits;  // max_position_usd 10,000
    // flat -> short 250 at 50 = 12,500 USD: over the limit like a long of 250
    EXPECT_EQ(quant::check_order({Side::sell, 250, false, "open"}, limits, facts_at(50, 100000, 0)).code,
              "max_position");
    EXPECT_EQ(quant::check_order({Side::buy, 250, false, "open"}, limits, facts_at(50, 100000, 0)).code,
              "max_position");
    // adding to a short: -150 - 100 = -250
    EXPECT_EQ(quant::check_order({Side::sell, 100, false, "open"}, limits, facts_at(50, 100000, -150)).code,
              "max_position");
    EXPECT_TRUE(
        quant::check_order({Side::sell, 200, false, "open"}, limits, facts_at(50, 100000, 0)).allowed);
    limits.max_order_qty = 150.0;
    EXPECT_EQ(quant::check_order({Side::sell, 200, false, "open"}, limits, facts_at(50, 100000, 0)).code,
              "max_order_qty");
    limits.max_order_qty.reset();
    limits.max_order_notional = 9000.0;
    EXPECT_EQ(quant::check_order({Side::sell, 200, false, "open"}, limits, facts_at(50, 100000, 0)).code,
              "max_order_notional");
}

TEST(RiskChecksShort, AShortNeedsItsMargin) {
    quant::RiskLimits limits;
    limits.max_position_usd = 1e9;
    const PlannedOrder sell{Side::sell, 100, false, "open"};  // 5,000 USD at 50
    // cash after the sale 2,499 + 5,000 = 7,499 < 1.5 x 5,000 = 7,500
    const auto d = quant::check_order(sell, limits, facts_at(50, 2499, 0));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.code, "margin");
    EXPECT_FALSE(d.message.empty());
    EXPECT_TRUE(quant::check_order(sell, limits, facts_at(50, 2500, 0)).allowed);  // exactly 7,500
    // adding to a short counts the whole short: -100 - 100 = -200 (10,000 USD) needs 15,000; the
    // first sale's proceeds (5,000) are already in the cash
    EXPECT_EQ(quant::check_order(sell, limits, facts_at(50, 9999, -100)).code, "margin");
    EXPECT_TRUE(quant::check_order(sell, limits, facts_at(50, 10000, -100)).allowed);
    // no cash figure: fail closed for a short as for a buy
    auto f = facts_at(50, 0, 0);
    f.cash.reset();
    EXPECT_EQ(quant::check_order(sell, limits, f).code, "unknown_cash");
    // a margin rate that is not a number fails closed
    f = facts_at(50, 1e9, 0);
    f.short_margin = std::nan("");
    EXPECT_EQ(quant::check_order(sell, limits, f).code, "margin");
    // a custom rate: 100 % margin (200 % of the value)
    f = facts_at(50, 5000, 0);
    f.short_margin = 1.0;
    EXPECT_TRUE(quant::check_order(sell, limits, f).allowed);
    f.cash = 4999;
    EXPECT_EQ(quant::check_order(sell, limits, f).code, "margin");
    // covering (reduce-only) is never trapped by the margin
    EXPECT_TRUE(quant::check_order({Side::buy, 100, true, "close"}, limits, facts_at(50, 0, -100)).allowed);
}

TEST(RiskChecksQty, AnOrderQtyPastTheDeploymentBoundIsInvalid) {
    const quant::RiskLimits limits;
    for (double q : {1e13, std::numeric_limits<double>::infinity(), std::nan(""), 0.0, -1.0}) {
        const auto d = quant::check_order({Side::buy, q, false, "open"}, limits, facts_at(50, 1e9, 0));
        EXPECT_EQ(d.code, "invalid_order") << q;
    }
}

}  // namespace

namespace {

// The kill switch's one meaning: no new entries, exits still run; the halt stops everything.
TEST(RiskChecksKillSwitch, DisabledStopsEntriesButNotExits) {
    const quant::RiskLimits limits;
    auto f = facts_at(50.0, 100000.0, 10.0);
    f.enabled = false;
    const PlannedOrder entry{Side::buy, 10, false, "open"};
    const PlannedOrder exit{Side::sell, 10, true, "close"};
    const auto d = quant::check_order(entry, limits, f);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.code, "kill_switch");
    EXPECT_TRUE(quant::check_order(exit, limits, f).allowed);
    // a short opened from flat is an entry too
    auto flat = facts_at(50.0, 100000.0, 0.0);
    flat.enabled = false;
    EXPECT_EQ(quant::check_order({Side::sell, 10, false, "open"}, limits, flat).code, "kill_switch");
}

TEST(RiskChecksKillSwitch, AnOpenBreakerStopsEntriesButNotExits) {
    const quant::RiskLimits limits;
    auto f = facts_at(50.0, 100000.0, 10.0);
    f.breaker = "breaker max_daily_loss is open";
    const auto d = quant::check_order({Side::buy, 10, false, "open"}, limits, f);
    EXPECT_EQ(d.code, "breaker");
    EXPECT_EQ(d.message, f.breaker);
    EXPECT_TRUE(quant::check_order({Side::sell, 10, true, "close"}, limits, f).allowed);
    // named before the kill switch the breaker itself set
    f.enabled = false;
    EXPECT_EQ(quant::check_order({Side::buy, 10, false, "open"}, limits, f).code, "breaker");
}

TEST(RiskChecksKillSwitch, TheHaltStopsExitsToo) {
    const quant::RiskLimits limits;
    auto f = facts_at(50.0, 100000.0, 10.0);
    f.halted = true;
    EXPECT_EQ(quant::check_order({Side::sell, 10, true, "close"}, limits, f).code, "halted");
    EXPECT_EQ(quant::check_order({Side::buy, 10, false, "open"}, limits, f).code, "halted");
    f.halted = false;
    EXPECT_TRUE(quant::check_order({Side::sell, 10, true, "close"}, limits, f).allowed);
}

}  // namespace
