// The worker's signal policy: refused before any order, HOLD, finished, or legs; and the final
// status after a leg is blocked or answered.
#include "quant/signal_outcome.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using quant::OrderState;
using quant::SignalFinish;
using quant::SignalStart;

quant::RiskFacts good_facts(double position) {
    quant::RiskFacts f;
    f.enabled = true;
    f.broker_connected = true;
    f.price = 10.0;
    f.cash = 1e6;
    f.position = position;
    return f;
}

TEST(SignalOutcome, UnusableQtyIsOneRejection) {
    const quant::RiskLimits limits;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (const std::optional<double> qty :
         {std::optional<double>(), std::optional<double>(nan), std::optional<double>(inf),
          std::optional<double>(-inf), std::optional<double>(0.0), std::optional<double>(-5.0),
          std::optional<double>(2e12)}) {
        const SignalStart s = quant::start_signal(1.0, qty, limits, good_facts(0), 0);
        EXPECT_EQ(s.kind, SignalStart::Kind::reject);
        EXPECT_EQ(s.code, "invalid_qty");
        EXPECT_NE(s.message.find("fail closed"), std::string::npos) << s.message;
        EXPECT_TRUE(s.legs.empty());
    }
    // before anything else: even a disabled deployment with an unknown position names the qty
    quant::RiskFacts off;
    EXPECT_EQ(quant::start_signal(1.0, inf, limits, off, 0).code, "invalid_qty");
    EXPECT_NE(quant::start_signal(1.0, inf, limits, off, 0).message.find("infinite"), std::string::npos);
    EXPECT_NE(quant::start_signal(1.0, nan, limits, off, 0).message.find("NaN"), std::string::npos);
}

TEST(SignalOutcome, LargestQtyIsTraded) {
    const SignalStart s = quant::start_signal(1.0, 1e12, quant::RiskLimits{}, good_facts(0), 0);
    EXPECT_EQ(s.kind, SignalStart::Kind::trade);
    ASSERT_EQ(s.legs.size(), 1U);
    EXPECT_EQ(s.legs[0].qty, 1e12);
}

TEST(SignalOutcome, InvalidSignal) {
    const SignalStart s = quant::start_signal(0.5, 10.0, quant::RiskLimits{}, good_facts(0), 0);
    EXPECT_EQ(s.kind, SignalStart::Kind::reject);
    EXPECT_EQ(s.code, "invalid_signal");
    EXPECT_EQ(quant::start_signal(std::nan(""), 10.0, quant::RiskLimits{}, good_facts(0), 0).code,
              "invalid_signal");
}

TEST(SignalOutcome, UnknownPositionNamesTheFirstFailingCheck) {
    quant::RiskFacts f = good_facts(0);
    f.position.reset();
    EXPECT_EQ(quant::start_signal(1.0, 10.0, quant::RiskLimits{}, f, 0).code, "unknown_position");
    f.enabled = false;
    EXPECT_EQ(quant::start_signal(1.0, 10.0, quant::RiskLimits{}, f, 0).code, "kill_switch");
    f.enabled = true;
    f.broker_connected = false;
    EXPECT_EQ(quant::start_signal(1.0, 10.0, quant::RiskLimits{}, f, 0).code, "connection");
    f.broker_connected = true;
    f.position = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(quant::start_signal(1.0, 10.0, quant::RiskLimits{}, f, 0).code, "unknown_position");
}

TEST(SignalOutcome, HoldOrFinished) {
    EXPECT_EQ(quant::start_signal(1.0, 10.0, quant::RiskLimits{}, good_facts(10), 0).kind,
              SignalStart::Kind::hold);
    // at target with orders of its own: a crash after the last leg, finished now
    EXPECT_EQ(quant::start_signal(1.0, 10.0, quant::RiskLimits{}, good_facts(10), 2).kind,
              SignalStart::Kind::finished);
}

TEST(SignalOutcome, FlipIsTwoLegs) {
    const SignalStart s = quant::start_signal(-1.0, 10.0, quant::RiskLimits{}, good_facts(10), 0);
    EXPECT_EQ(s.kind, SignalStart::Kind::trade);
    ASSERT_EQ(s.legs.size(), 2U);
    EXPECT_EQ(s.legs[0].leg, "close");
    EXPECT_EQ(s.legs[1].leg, "open");
}

TEST(SignalOutcome, FinishAfterBlock) {
    EXPECT_EQ(quant::finish_after_block(false), SignalFinish::rejected);
    EXPECT_EQ(quant::finish_after_block(true), SignalFinish::done);
}

TEST(SignalOutcome, FinishAfterAnswer) {
    // the last (or only) leg
    EXPECT_EQ(quant::finish_after_answer(OrderState::filled, true, false), SignalFinish::done);
    EXPECT_EQ(quant::finish_after_answer(OrderState::rejected, true, false), SignalFinish::rejected);
    EXPECT_EQ(quant::finish_after_answer(OrderState::cancelled, true, false), SignalFinish::rejected);
    EXPECT_EQ(quant::finish_after_answer(OrderState::rejected, true, true), SignalFinish::done);
    // a first leg: a fill goes on, a refusal ends the signal
    EXPECT_EQ(quant::finish_after_answer(OrderState::filled, false, false), SignalFinish::none);
    EXPECT_EQ(quant::finish_after_answer(OrderState::rejected, false, false), SignalFinish::rejected);
    // open at the broker: reconciliation finishes it
    EXPECT_EQ(quant::finish_after_answer(OrderState::sent, true, false), SignalFinish::none);
    EXPECT_EQ(quant::finish_after_answer(OrderState::new_order, true, true), SignalFinish::none);
    EXPECT_EQ(quant::finish_after_answer(OrderState::unknown, true, false), SignalFinish::none);
    EXPECT_TRUE(quant::next_leg_allowed(OrderState::filled));
    EXPECT_FALSE(quant::next_leg_allowed(OrderState::rejected));
    EXPECT_FALSE(quant::next_leg_allowed(OrderState::sent));
}

TEST(SignalOutcome, FinishNames) {
    EXPECT_EQ(quant::signal_finish_name(SignalFinish::done), "DONE");
    EXPECT_EQ(quant::signal_finish_name(SignalFinish::rejected), "REJECTED");
    EXPECT_EQ(quant::signal_finish_name(SignalFinish::none), "");
}

}  // namespace
