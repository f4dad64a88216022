// plan_orders (seed §5 apply_signal) and the risk checks (seed §4), against hand-worked cases.
#include "quant/trading.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/error.hpp"

namespace {

using quant::PlannedOrder;
using quant::Side;

std::string show(const std::vector<PlannedOrder>& plan) {
    std::string s;
    for (const auto& o : plan) {
        s += std::string(quant::side_name(o.side)) + " " + std::to_string(o.qty) +
             (o.reduce_only ? " reduce " : " ") + o.leg + "; ";
    }
    return s;
}

TEST(PlanOrders, EveryPositionToEverySignal) {
    struct Case {
        double position, signal;
        std::vector<PlannedOrder> want;
    };
    const double q = 100;
    const std::vector<Case> cases{
        {0, 0, {}},
        {0, 1, {{Side::buy, 100, false, "open"}}},
        {0, -1, {{Side::sell, 100, false, "open"}}},
        {100, 1, {}},
        {100, 0, {{Side::sell, 100, true, "close"}}},
        // the opposite side is closed first, then the new side opened
        {100, -1, {{Side::sell, 100, true, "close"}, {Side::sell, 100, false, "open"}}},
        {-100, 1, {{Side::buy, 100, true, "close"}, {Side::buy, 100, false, "open"}}},
        {-100, 0, {{Side::buy, 100, true, "close"}}},
        {-100, -1, {}},
        // a partial position is topped up or trimmed on the same side
        {40, 1, {{Side::buy, 60, false, "open"}}},
        {150, 1, {{Side::sell, 50, true, "close"}}},
        {-30, -1, {{Side::sell, 70, false, "open"}}},
        {-130, -1, {{Side::buy, 30, true, "close"}}},
        {40, -1, {{Side::sell, 40, true, "close"}, {Side::sell, 100, false, "open"}}},
    };
    for (const auto& c : cases) {
        const auto got = quant::plan_orders(c.position, c.signal, q);
        ASSERT_EQ(got.size(), c.want.size()) << c.position << " -> " << c.signal << ": " << show(got);
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].side, c.want[i].side) << c.position << " -> " << c.signal;
            EXPECT_DOUBLE_EQ(got[i].qty, c.want[i].qty) << c.position << " -> " << c.signal;
            EXPECT_EQ(got[i].reduce_only, c.want[i].reduce_only) << c.position << " -> " << c.signal;
            EXPECT_EQ(got[i].leg, c.want[i].leg) << c.position << " -> " << c.signal;
        }
        // The plan lands exactly on signal * qty.
        double after = c.position;
        for (const auto& o : got)
            after += o.side == Side::buy ? o.qty : -o.qty;
        EXPECT_DOUBLE_EQ(after, c.signal * q);
    }
}

TEST(PlanOrders, RefusesSignalsOutsideMinusOneZeroOne) {
    for (double s : {2.0, -2.0, 0.5, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
        try {
            quant::plan_orders(0, s, 10);
            ADD_FAILURE() << "signal " << s << " accepted";
        } catch (const quant::Error& e) {
            EXPECT_EQ(e.code(), quant::ErrorCode::invalid_argument);
            EXPECT_EQ(e.field(), "signal");
        }
    }
    EXPECT_THROW(quant::plan_orders(std::nan(""), 1, 10), quant::Error);
    EXPECT_THROW(quant::plan_orders(0, 1, 0), quant::Error);
}

quant::RiskFacts good_facts() {
    quant::RiskFacts f;
    f.enabled = true;
    f.broker_connected = true;
    f.price = 50.0;
    f.cash = 100000.0;
    f.position = 0.0;
    f.symbol = f.price_symbol = "MSFT";
    return f;
}

TEST(RiskChecks, EachCheckBlocksAndPasses) {
    const quant::RiskLimits limits;  // 10,000 USD, 10 trades, 5 %, 6 per minute, 3 rejects
    const PlannedOrder buy{Side::buy, 100, false, "open"};  // 5,000 USD at 50
    EXPECT_TRUE(quant::check_order(buy, limits, good_facts()).allowed);

    struct Case {
        const char* code;
        void (*breach)(quant::RiskFacts&);
    };
    const Case cases[] = {
        {"halted", [](quant::RiskFacts& f) { f.halted = true; }},
        {"kill_switch", [](quant::RiskFacts& f) { f.enabled = false; }},
        {"duplicate", [](quant::RiskFacts& f) { f.already_acted = true; }},
        {"connection", [](quant::RiskFacts& f) { f.broker_connected = false; }},
        {"paused", [](quant::RiskFacts& f) { f.consecutive_rejects = 3; }},
        {"max_daily_trades", [](quant::RiskFacts& f) { f.trades_today = 10; }},
        {"throttle", [](quant::RiskFacts& f) { f.orders_last_minute = 6; }},
        {"unknown_position", [](quant::RiskFacts& f) { f.position.reset(); }},
        {"unknown_price", [](quant::RiskFacts& f) { f.price.reset(); }},
        {"unknown_price", [](quant::RiskFacts& f) { f.price = std::nan(""); }},
        {"max_position", [](quant::RiskFacts& f) { f.position = 150.0; }},  // 250 * 50 = 12,500
        {"unknown_cash", [](quant::RiskFacts& f) { f.cash.reset(); }},
        {"cash", [](quant::RiskFacts& f) { f.cash = 4999.0; }},
    };
    for (const auto& c : cases) {
        auto facts = good_facts();
        c.breach(facts);
        const auto d = quant::check_order(buy, limits, facts);
        EXPECT_FALSE(d.allowed) << c.code;
        EXPECT_EQ(d.code, c.code);
        EXPECT_FALSE(d.message.empty()) << c.code;
    }
    // just inside the limits
    auto facts = good_facts();
    facts.trades_today = 9;
    facts.orders_last_minute = 5;
    facts.consecutive_rejects = 2;
    facts.position = 100.0;  // 200 * 50 = 10,000: at the limit, not over
    facts.cash = 5000.0;
    EXPECT_TRUE(quant::check_order(buy, limits, facts).allowed);
}

TEST(RiskChecks, PerOrderLimits) {
    quant::RiskLimits limits;
    limits.max_order_notional = 4000.0;
    const PlannedOrder buy{Side::buy, 100, false, "open"};
    EXPECT_EQ(quant::check_order(buy, limits, good_facts()).code, "max_order_notional");
    limits.max_order_notional.reset();
    limits.max_order_qty = 99.0;
    EXPECT_EQ(quant::check_order(buy, limits, good_facts()).code, "max_order_qty");
}

TEST(RiskChecks, AReduceOnlyOrderPassesABreachedMaxPositionAndUnknownCash) {
    const quant::RiskLimits limits;
    auto facts = good_facts();
    facts.position = 1000.0;  // 50,000 USD: far over max_position_usd
    facts.cash.reset();
    facts.price.reset();
    const PlannedOrder close{Side::sell, 1000, true, "close"};
    EXPECT_TRUE(quant::check_order(close, limits, facts).allowed);
    // ...and so does the kill switch (exits still run), but the halt stops it, and an unknown
    // position still fails closed.
    facts.enabled = false;
    EXPECT_TRUE(quant::check_order(close, limits, facts).allowed);
    facts.halted = true;
    EXPECT_EQ(quant::check_order(close, limits, facts).code, "halted");
    facts.halted = false;
    facts.enabled = true;
    facts.position.reset();
    EXPECT_EQ(quant::check_order(close, limits, facts).code, "unknown_position");
}

TEST(RiskChecks, ParseRiskLimits) {
    const auto r = quant::parse_risk_limits(quant::Json::parse(
        R"({"max_position_usd": 20000, "max_daily_trades": 3, "stop_loss_pct": 2.5, "max_order_notional": 1000})"));
    EXPECT_DOUBLE_EQ(r.max_position_usd, 20000);
    EXPECT_EQ(r.max_daily_trades, 3);
    EXPECT_DOUBLE_EQ(r.stop_loss_pct, 2.5);
    ASSERT_TRUE(r.max_order_notional.has_value());
    EXPECT_DOUBLE_EQ(*r.max_order_notional, 1000);
    EXPECT_FALSE(r.max_order_qty.has_value());
    EXPECT_EQ(r.max_orders_per_minute, 6);
    EXPECT_EQ(r.max_consecutive_rejects, 3);
    EXPECT_THROW(quant::parse_risk_limits(quant::Json::parse(R"({"max_position_usd": -1})")), quant::Error);
    EXPECT_THROW(quant::parse_risk_limits(quant::Json::parse(R"({"max_position_usd": "lots"})")),
                 quant::Error);
    EXPECT_THROW(quant::parse_risk_limits(quant::Json::parse(R"({"max_order_qty": 0})")), quant::Error);
}

TEST(StopLoss, LongAndShort) {
    EXPECT_FALSE(quant::stop_loss_triggered(100, 100.0, 95.0, 5.0));  // exactly 5 %: not past it
    EXPECT_TRUE(quant::stop_loss_triggered(100, 100.0, 94.9, 5.0));
    EXPECT_FALSE(quant::stop_loss_triggered(100, 100.0, 120.0, 5.0));
    EXPECT_TRUE(quant::stop_loss_triggered(-100, 100.0, 105.1, 5.0));
    EXPECT_FALSE(quant::stop_loss_triggered(-100, 100.0, 90.0, 5.0));
    EXPECT_FALSE(quant::stop_loss_triggered(0, 100.0, 50.0, 5.0));
    EXPECT_FALSE(quant::stop_loss_triggered(100, 100.0, std::nan(""), 5.0));
}

TEST(ClientOrderId, DeterministicDistinctAndShort) {
    const std::string dep = "01a21468-3fcb-75a9-845a-b560645e8880";
    const std::string sig = "01a2146a-0000-7000-8000-00000000002a";
    const auto a = quant::client_order_id(dep, sig, "close");
    EXPECT_EQ(a, quant::client_order_id(dep, sig, "close"));
    EXPECT_NE(a, quant::client_order_id(dep, sig, "open"));
    EXPECT_NE(a, quant::client_order_id(dep, "01a2146a-0000-7000-8000-00000000002b", "close"));
    EXPECT_NE(a, quant::client_order_id("01a21468-3fcb-75a9-845a-b560645e8881", sig, "close"));
    EXPECT_LE(a.size(), 36u);  // Bybit's orderLinkId limit
}

}  // namespace
