// The loss and drawdown breakers on hand-worked books: each trips once and does not once.
#include "quant/breakers.hpp"

#include <gtest/gtest.h>

#include "quant/deployment_config.hpp"
#include "quant/error.hpp"

namespace {

using quant::Book;
using quant::BookFill;

constexpr std::int64_t kDay = 86400LL * 1000000LL;
constexpr std::int64_t kDay0 = 100 * kDay;  // the UTC day the checks run in starts here
constexpr std::int64_t kNoReset = std::numeric_limits<std::int64_t>::min();

// Yesterday: bought 10 at 100 (fee 1). Today: sold 10 at 90 (fee 1): -100 realised, -2 fees.
Book losing_day() {
    return Book{{BookFill{kDay0 - 1000, 10, 100, 1}, BookFill{kDay0 + 1000, -10, 90, 1}}, 90.0};
}

TEST(Breakers, MeasureBooksByHand) {
    const auto f = quant::measure_books({losing_day()}, kNoReset, kDay0);
    // start of the day: -1 fee, position 10 marked at its fill price 100
    EXPECT_DOUBLE_EQ(f.pnl_day_start, -1.0);
    EXPECT_DOUBLE_EQ(f.pnl_now, -102.0);
    EXPECT_DOUBLE_EQ(f.daily_loss(), 101.0);
    EXPECT_DOUBLE_EQ(f.peak_pnl, 0.0);  // before the first trade
    EXPECT_DOUBLE_EQ(f.drawdown(), 102.0);
    EXPECT_EQ(f.consecutive_losses, 1);
    EXPECT_DOUBLE_EQ(f.exposure, 0.0);
    EXPECT_TRUE(f.priced);
}

TEST(Breakers, UnrealisedLossAtTheLatestPrice) {
    // long 10 from 100, now 80: -200 unrealised, exposure 800
    const Book b{{BookFill{kDay0 + 1, 10, 100, 0}}, 80.0};
    const auto f = quant::measure_books({b}, kNoReset, kDay0);
    EXPECT_DOUBLE_EQ(f.pnl_now, -200.0);
    EXPECT_DOUBLE_EQ(f.daily_loss(), 200.0);
    EXPECT_DOUBLE_EQ(f.exposure, 800.0);
    // no price: not priced, the P&L breakers are not judged
    const Book unpriced{{BookFill{kDay0 + 1, 10, 100, 0}}, std::nullopt};
    EXPECT_FALSE(quant::measure_books({unpriced}, kNoReset, kDay0).priced);
}

TEST(Breakers, DailyLossTripsAndDoesNot) {
    const auto f = quant::measure_books({losing_day()}, kNoReset, kDay0);
    quant::BreakerLimits l;
    l.max_daily_loss = 100.0;
    const auto t = quant::first_breach(l, f);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->breaker, "max_daily_loss");
    EXPECT_DOUBLE_EQ(t->value, 101.0);
    l.max_daily_loss = 101.0;  // not more than the limit
    EXPECT_FALSE(quant::first_breach(l, f).has_value());
}

TEST(Breakers, DailyLossPctTripsAndDoesNot) {
    const auto f = quant::measure_books({losing_day()}, kNoReset, kDay0);
    quant::BreakerLimits l;
    l.capital = 1000.0;  // 101 / (1000 - 1) = 10.11 %
    l.max_daily_loss_pct = 10.0;
    const auto t = quant::first_breach(l, f);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->breaker, "max_daily_loss_pct");
    EXPECT_NEAR(t->value, 101.0 / 999.0 * 100.0, 1e-9);
    l.max_daily_loss_pct = 10.2;
    EXPECT_FALSE(quant::first_breach(l, f).has_value());
}

TEST(Breakers, YesterdaysLossIsNotToday) {
    // the loss happened yesterday: today's loss is 0, the drawdown is not
    Book b = losing_day();
    b.fills[1].ts_us = kDay0 - 500;
    const auto f = quant::measure_books({b}, kNoReset, kDay0);
    EXPECT_DOUBLE_EQ(f.daily_loss(), 0.0);
    quant::BreakerLimits l;
    l.max_daily_loss = 50.0;
    EXPECT_FALSE(quant::first_breach(l, f).has_value());
    l.max_drawdown = 50.0;
    ASSERT_TRUE(quant::first_breach(l, f).has_value());
    EXPECT_EQ(quant::first_breach(l, f)->breaker, "max_drawdown");
}

TEST(Breakers, DrawdownFromThePeak) {
    // +100 on the first round trip (peak 100), then -60 on the second: drawdown 60, P&L +40
    const Book b{{BookFill{1, 10, 100, 0}, BookFill{2, -10, 110, 0}, BookFill{3, 10, 110, 0},
                  BookFill{4, -10, 104, 0}},
                 104.0};
    const auto f = quant::measure_books({b}, kNoReset, kDay0);
    EXPECT_DOUBLE_EQ(f.peak_pnl, 100.0);
    EXPECT_DOUBLE_EQ(f.pnl_now, 40.0);
    quant::BreakerLimits l;
    l.max_drawdown = 59.0;
    EXPECT_EQ(quant::first_breach(l, f)->breaker, "max_drawdown");
    l.max_drawdown = 60.0;
    EXPECT_FALSE(quant::first_breach(l, f).has_value());
    quant::BreakerLimits p;
    p.capital = 1000.0;  // 60 / 1100 = 5.45 %
    p.max_drawdown_pct = 5.0;
    EXPECT_EQ(quant::first_breach(p, f)->breaker, "max_drawdown_pct");
    p.max_drawdown_pct = 6.0;
    EXPECT_FALSE(quant::first_breach(p, f).has_value());
}

TEST(Breakers, ConsecutiveLossesAndAWinResets) {
    // three losing round trips, a winning one, two losing ones
    std::vector<BookFill> fills;
    std::int64_t t = 1;
    const auto trip = [&](double exit) {
        fills.push_back({t++, 1, 100, 0});
        fills.push_back({t++, -1, exit, 0});
    };
    trip(99);
    trip(99);
    trip(99);
    EXPECT_EQ(quant::measure_books({Book{fills, 100.0}}, kNoReset, kDay0).consecutive_losses, 3);
    trip(101);
    trip(99);
    trip(99);
    const auto f = quant::measure_books({Book{fills, 100.0}}, kNoReset, kDay0);
    EXPECT_EQ(f.consecutive_losses, 2);
    quant::BreakerLimits l;
    l.max_consecutive_losses = 2;
    EXPECT_EQ(quant::first_breach(l, f)->breaker, "max_consecutive_losses");
    l.max_consecutive_losses = 3;
    EXPECT_FALSE(quant::first_breach(l, f).has_value());
    // a reset after the fourth trade's first loss: only the losses after it count
    EXPECT_EQ(quant::measure_books({Book{fills, 100.0}}, 11, kDay0).consecutive_losses, 1);
}

TEST(Breakers, OpenExposureAcrossBooks) {
    const Book a{{BookFill{1, 10, 100, 0}}, 100.0};
    const Book b{{BookFill{2, -5, 200, 0}}, 200.0};
    const auto f = quant::measure_books({a, b}, kNoReset, kDay0);
    EXPECT_DOUBLE_EQ(f.exposure, 2000.0);
    quant::BreakerLimits l;
    l.max_open_exposure = 1999.0;
    EXPECT_EQ(quant::first_breach(l, f)->breaker, "max_open_exposure");
    l.max_open_exposure = 2000.0;
    EXPECT_FALSE(quant::first_breach(l, f).has_value());
}

TEST(Breakers, FeesCountAsLosses) {
    // a round trip at the same price loses its fees: a losing trade
    const Book b{{BookFill{1, 1, 100, 0.5}, BookFill{2, -1, 100, 0.5}}, 100.0};
    const auto f = quant::measure_books({b}, kNoReset, kDay0);
    EXPECT_DOUBLE_EQ(f.pnl_now, -1.0);
    EXPECT_EQ(f.consecutive_losses, 1);
}

TEST(Breakers, AccountLimitsParseAndNameTheField) {
    const auto l = quant::parse_account_limits(quant::Json::parse(
        R"({"max_daily_loss": 500, "max_open_exposure": 20000, "max_drawdown_pct": 10, "capital": 100000})"));
    EXPECT_EQ(*l.max_daily_loss, 500.0);
    EXPECT_EQ(*l.capital, 100000.0);
    EXPECT_FALSE(l.flatten_on_breach);
    const auto field_of = [](const char* text) {
        try {
            quant::parse_account_limits(quant::Json::parse(text));
        } catch (const quant::Error& e) {
            return e.field();
        }
        return std::string("no error");
    };
    EXPECT_EQ(field_of(R"({"max_daily_loss": -1})"), "account_limits.max_daily_loss");
    EXPECT_EQ(field_of(R"({"max_drawdown_pct": 10})"), "account_limits.max_drawdown_pct");  // no capital
    EXPECT_EQ(field_of(R"({"max_consecutive_losses": 0})"), "account_limits.max_consecutive_losses");
    EXPECT_EQ(field_of(R"({"flatten_on_breach": "yes"})"), "account_limits.flatten_on_breach");
    EXPECT_EQ(field_of(R"({"max_dayly_loss": 1})"), "account_limits.max_dayly_loss");
    EXPECT_EQ(field_of(R"({"max_drawdown_pct": 101, "capital": 1})"), "account_limits.max_drawdown_pct");
}

TEST(Breakers, DeploymentRiskLimitsCarryTheBreakers) {
    const auto r = quant::parse_risk_limits(quant::Json::parse(
        R"({"max_daily_loss": 250, "max_consecutive_losses": 3, "flatten_on_breach": true})"));
    EXPECT_EQ(*r.breakers.max_daily_loss, 250.0);
    EXPECT_EQ(*r.breakers.max_consecutive_losses, 3);
    EXPECT_TRUE(r.breakers.flatten_on_breach);
    const auto j = quant::to_json(r);
    EXPECT_EQ(j["max_daily_loss"], 250.0);
    EXPECT_EQ(j["flatten_on_breach"], true);
    // not given: not in the normalised form (existing deployments are unchanged)
    EXPECT_FALSE(quant::to_json(quant::parse_risk_limits(quant::Json::object())).contains("max_daily_loss"));
    try {
        quant::parse_risk_limits(quant::Json::parse(R"({"max_drawdown_pct": 0})"));
        FAIL() << "accepted max_drawdown_pct 0";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.field(), "risk_limits.max_drawdown_pct");
    }
}

TEST(Breakers, EvaluateFromTheWorkersFacts) {
    const quant::Json facts = quant::Json::parse(R"({
        "deployment_id": "d1", "day_start_us": 8640000000000,
        "risk_limits": {"max_position_usd": 1000, "max_daily_loss": 100},
        "account_limits": {"max_open_exposure": 500},
        "books": [{"deployment_id": "d1", "price": 90, "fills": [[8639999999000, 10, 100, 1], [8640000001000, -10, 90, 1]]},
                  {"deployment_id": "d2", "price": 60, "fills": [[8640000002000, 10, 60, 0]]}]})");
    const auto t = quant::evaluate_breakers(facts);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->scope, "deployment");
    EXPECT_EQ(t->trip.breaker, "max_daily_loss");
    // the deployment's limit off: the account's exposure (600 > 500) trips
    quant::Json f2 = facts;
    f2["risk_limits"].erase("max_daily_loss");
    const auto t2 = quant::evaluate_breakers(f2);
    ASSERT_TRUE(t2.has_value());
    EXPECT_EQ(t2->scope, "account");
    EXPECT_EQ(t2->trip.breaker, "max_open_exposure");
    EXPECT_DOUBLE_EQ(t2->trip.value, 600.0);
    f2["account_limits"]["max_open_exposure"] = 600;
    EXPECT_FALSE(quant::evaluate_breakers(f2).has_value());
}

}  // namespace

namespace {

// Found by fuzz_deployment_config: a time of 8.64e36 was cast to int64 (undefined behaviour).
TEST(Breakers, FactsWithATimeOutOfRangeAreRefusedNotCast) {
    const quant::Json facts = quant::Json::parse(R"({"deployment_id": "d1", "day_start_us": 8.64e36,
        "risk_limits": {"max_daily_loss": 1},
        "books": [{"deployment_id": "d1", "price": 90, "fills": [[8.64e36, 10, 100, 1]]}]})");
    EXPECT_THROW(quant::evaluate_breakers(facts), quant::Error);
    quant::Json ok = facts;
    ok["books"][0]["fills"][0][0] = 1;
    EXPECT_NO_THROW(quant::evaluate_breakers(ok));  // the day's start out of range: no day (all today)
}

}  // namespace

namespace {

// Found by fuzz_deployment_config: a deployment_id of null threw nlohmann's type_error.
TEST(Breakers, FactsWithANullIdAreNoCrash) {
    const quant::Json facts =
        quant::Json::parse(R"({"deployment_id": null, "risk_limits": {"max_daily_loss": 1},
        "books": [{"deployment_id": null, "fills": [[1, 10, 60, 0]]}]})");
    EXPECT_NO_THROW(quant::evaluate_breakers(facts));
}

}  // namespace
