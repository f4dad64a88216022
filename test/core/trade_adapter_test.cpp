// The pure parts of the TradeAdapter interface: order states, the position report, and that
// an adapter can be implemented and driven through the interface alone (a fake broker).
#include "quant/trade_adapter.hpp"

#include <gtest/gtest.h>

#include <map>

namespace {

using quant::OrderState;

TEST(TradeAdapter, OrderStatesRoundTripAndUnknownFailsClosed) {
    for (auto s : {OrderState::new_order, OrderState::sent, OrderState::filled, OrderState::rejected,
                   OrderState::cancelled, OrderState::unknown}) {
        EXPECT_EQ(quant::parse_order_state(quant::order_state_name(s)), s);
    }
    EXPECT_EQ(quant::parse_order_state("filled"), OrderState::unknown);  // case matters: fail closed
    EXPECT_EQ(quant::parse_order_state(""), OrderState::unknown);
    EXPECT_TRUE(quant::is_terminal(OrderState::filled));
    EXPECT_TRUE(quant::is_terminal(OrderState::rejected));
    EXPECT_TRUE(quant::is_terminal(OrderState::cancelled));
    EXPECT_FALSE(quant::is_terminal(OrderState::new_order));
    EXPECT_FALSE(quant::is_terminal(OrderState::sent));
    EXPECT_FALSE(quant::is_terminal(OrderState::unknown));
}

TEST(TradeAdapter, PositionInACompleteReport) {
    const std::vector<quant::PositionInfo> report{{"TTRC", 10, 50}, {"MSFT", -3, 20}};
    EXPECT_EQ(quant::position_in(report, "TTRC"), 10);
    EXPECT_EQ(quant::position_in(report, "MSFT"), -3);
    EXPECT_EQ(quant::position_in(report, "AAPL"), 0);  // missing from a complete report: flat
    EXPECT_EQ(quant::position_in({}, "TTRC"), 0);
}

// A broker that de-duplicates on the client order id, like the paper broker.
class FakeBroker final : public quant::TradeAdapter {
public:
    void connect() override { up = true; }
    void disconnect() override { up = false; }
    bool is_connected() const override { return up; }
    quant::OrderResult place_order(std::string_view symbol, double qty, quant::Side side,
                                   std::string_view coid, std::string_view, std::optional<double>) override {
        if (!up)
            throw quant::BrokerError("down");
        auto it = orders.find(std::string(coid));
        if (it != orders.end())
            return it->second;
        quant::OrderResult r;
        r.client_order_id = coid;
        r.symbol = symbol;
        r.side = side;
        r.qty = r.filled_qty = qty;
        r.avg_price = 50;
        r.state = OrderState::filled;
        pos += side == quant::Side::buy ? qty : -qty;
        return orders[std::string(coid)] = r;
    }
    std::vector<quant::PositionInfo> get_positions() override { return {{"TTRC", pos, 50}}; }
    std::vector<quant::OrderResult> get_orders() override { return {}; }
    quant::AccountInfo get_account_info() override { return {}; }
    std::optional<quant::OrderResult> order_by_client_id(std::string_view coid) override {
        auto it = orders.find(std::string(coid));
        if (it == orders.end())
            return std::nullopt;
        return it->second;
    }
    std::vector<quant::BarData> fetch_bars(std::string_view, std::string_view, std::int64_t,
                                           std::int64_t) override {
        return {};
    }
    bool up = false;
    double pos = 0;
    std::map<std::string, quant::OrderResult> orders;
};

TEST(TradeAdapter, PlanThroughTheInterfaceWithDeterministicIdsIsIdempotent) {
    FakeBroker b;
    quant::TradeAdapter& a = b;
    EXPECT_THROW(a.place_order("TTRC", 1, quant::Side::buy, "x"), quant::BrokerError);
    a.connect();
    const std::string dep = "01a21473-f560-7b64-9f6f-f397fa70b759";
    const std::string sig = "01a21473-f56c-774f-9697-704c4e1400c6";
    for (int replay = 0; replay < 2; ++replay) {  // a replay after a crash sends nothing new
        const auto plan = quant::plan_orders(-10, 1, 10);
        ASSERT_EQ(plan.size(), 2u);
        for (const auto& leg : plan) {
            const auto id = quant::client_order_id(dep, sig, leg.leg);
            EXPECT_EQ(id.size(), 36u);
            if (replay == 1) {
                EXPECT_TRUE(a.order_by_client_id(id).has_value());
            }
            a.place_order("TTRC", leg.qty, leg.side, id);
        }
    }
    EXPECT_EQ(b.orders.size(), 2u);
    EXPECT_EQ(quant::position_in(a.get_positions(), "TTRC"), 20);  // from 0: close 10 + open 10, once
}

}  // namespace
