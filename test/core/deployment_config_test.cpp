// DeploymentConfig (seed §1.2): defaults, each invalid field named with its hint, and the
// live-gate inputs never echoed.
#include "quant/deployment_config.hpp"

#include <gtest/gtest.h>

#include "quant/error.hpp"

namespace {

const char* const sid = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

quant::Json minimal() {
    return quant::Json{{"strategy_id", sid}, {"qty", 100}};
}

// Parses doc and returns the error's field, failing the test when it parses.
quant::Error error_of(const quant::Json& doc) {
    try {
        quant::parse_deployment_config(doc);
    } catch (const quant::Error& e) {
        return e;
    }
    ADD_FAILURE() << "parsed without error: " << doc.dump();
    return quant::Error(quant::ErrorCode::internal, "", "");
}

TEST(DeploymentConfig, DefaultsOfTheSeed) {
    const auto cfg = quant::parse_deployment_config(minimal());
    EXPECT_TRUE(cfg.paper);
    EXPECT_TRUE(cfg.enabled);
    EXPECT_EQ(cfg.schedule, "daily_close");
    EXPECT_EQ(cfg.portfolio, "DEFAULT");
    EXPECT_EQ(cfg.broker, "PAPER");
    EXPECT_EQ(cfg.risk_limits.max_position_usd, 10000.0);
    EXPECT_EQ(cfg.risk_limits.max_daily_trades, 10);
    EXPECT_EQ(cfg.risk_limits.stop_loss_pct, 5.0);
    const auto j = quant::to_json(cfg);
    EXPECT_EQ(j["qty"], 100);
    EXPECT_EQ(j["risk_limits"]["max_daily_trades"], 10);
    EXPECT_FALSE(j.contains("ticker"));
}

TEST(DeploymentConfig, SeedExampleRoundTrips) {
    const auto doc = quant::Json::parse(R"({"strategy_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "portfolio": "DEFAULT", "user": "alfcheun", "broker": "FUTU", "ticker": "US.WEAT", "qty": 100,
        "paper": true, "market": "US", "schedule": "daily_close", "enabled": true,
        "risk_limits": {"max_position_usd": 10000, "max_daily_trades": 10, "stop_loss_pct": 5.0}})");
    const auto once = quant::to_json(quant::parse_deployment_config(doc));
    const auto twice = quant::to_json(quant::parse_deployment_config(once));
    EXPECT_EQ(once, twice);
    EXPECT_EQ(once["broker"], "FUTU");
    EXPECT_EQ(once["user"], "alfcheun");
}

TEST(DeploymentConfig, CaseOfEnumsIsNormalised) {
    auto doc = minimal();
    doc["broker"] = "bybit";
    doc["market"] = "crypto";
    doc["schedule"] = "HOURLY";
    doc["qty"] = 0.25;
    const auto j = quant::to_json(quant::parse_deployment_config(doc));
    EXPECT_EQ(j["broker"], "BYBIT");
    EXPECT_EQ(j["market"], "CRYPTO");
    EXPECT_EQ(j["schedule"], "hourly");
    EXPECT_DOUBLE_EQ(j["qty"].get<double>(), 0.25);
}

TEST(DeploymentConfig, LiveGateInputsAreNeverEchoed) {
    auto doc = minimal();
    doc["broker"] = "FUTU";
    doc["paper"] = false;
    doc["confirm_live"] = true;
    doc["trade_password"] = "s3cret";
    const auto cfg = quant::parse_deployment_config(doc);
    EXPECT_TRUE(cfg.confirm_live);
    EXPECT_TRUE(cfg.has_trade_password);
    const auto text = quant::to_json(cfg).dump();
    EXPECT_EQ(text.find("s3cret"), std::string::npos);
    EXPECT_EQ(text.find("confirm_live"), std::string::npos);
    EXPECT_EQ(text.find("trade_password"), std::string::npos);
}

TEST(DeploymentConfig, EachInvalidFieldIsNamedWithItsHint) {
    struct Case {
        const char* key;
        quant::Json value;
        const char* field;
        const char* hint_part;
    };
    const Case cases[] = {
        {"broker", "IBKR", "broker", "PAPER, BYBIT, FUTU"},
        {"schedule", "weekly", "schedule", "daily_close, hourly, manual"},
        {"market", "EU", "market", "US, HK, CRYPTO"},
        {"qty", 0, "qty", "positive"},
        {"qty", -5, "qty", "positive"},
        {"qty", "100", "qty", "positive"},
        {"paper", "yes", "paper", "true, false"},
        {"enabled", 1, "enabled", "true, false"},
        {"strategy_id", "not-a-uuid", "strategy_id", "strategy"},
        {"strategy_version", 0, "strategy_version", "version"},
        {"portfolio", "", "portfolio", "portfolio"},
        {"risk_limits", quant::Json{{"max_daily_trades", 0}}, "risk_limits.max_daily_trades", "trades"},
        {"risk_limits", quant::Json{{"stop_loss_pct", 150}}, "risk_limits.stop_loss_pct", "percentage"},
        {"risk_limits", quant::Json{{"max_position_usd", -1}}, "risk_limits.max_position_usd", "USD"},
        {"risk_limits", quant::Json{{"leverage", 2}}, "risk_limits.leverage", "max_position_usd"},
        {"risk_limits", 5, "risk_limits", "max_position_usd"},
        {"colour", "red", "colour", "valid fields"},
        {"trade_password", 1234, "trade_password", ""},
        {"confirm_live", "yes", "confirm_live", "true, false"},
    };
    for (const auto& c : cases) {
        auto doc = minimal();
        doc[c.key] = c.value;
        const auto e = error_of(doc);
        EXPECT_EQ(e.code(), quant::ErrorCode::invalid_config) << c.key;
        EXPECT_EQ(e.field(), c.field) << c.key;
        EXPECT_NE(e.hint().find(c.hint_part), std::string::npos) << c.key << ": " << e.hint();
        EXPECT_EQ(std::string(e.what()).rfind(c.field, 0), 0u) << e.what();
    }
}

TEST(DeploymentConfig, RequiredFields) {
    EXPECT_EQ(error_of(quant::Json{{"qty", 1}}).field(), "strategy_id");
    EXPECT_EQ(error_of(quant::Json{{"strategy_id", sid}}).field(), "qty");
    EXPECT_EQ(error_of(quant::Json::array()).code(), quant::ErrorCode::invalid_config);
}

TEST(DeploymentConfig, WholeSharesForEquities) {
    auto doc = minimal();
    doc["qty"] = 1.5;
    EXPECT_NO_THROW(quant::parse_deployment_config(doc));  // market unknown yet
    doc["market"] = "US";
    EXPECT_EQ(error_of(doc).field(), "qty");
    doc["market"] = "CRYPTO";
    EXPECT_NO_THROW(quant::parse_deployment_config(doc));
}

TEST(DeploymentConfig, PaperBrokerCannotTradeLive) {
    auto doc = minimal();
    doc["paper"] = false;
    EXPECT_EQ(error_of(doc).field(), "paper");
}

TEST(DeploymentConfig, NullMeansNotGiven) {
    auto doc = minimal();
    doc["ticker"] = nullptr;
    doc["risk_limits"] = nullptr;
    const auto cfg = quant::parse_deployment_config(doc);
    EXPECT_TRUE(cfg.ticker.empty());
    EXPECT_EQ(cfg.risk_limits.max_daily_trades, 10);
}

TEST(DeploymentConfig, MalformedText) {
    EXPECT_THROW(quant::parse_deployment_config(std::string_view("{")), quant::Error);
}

}  // namespace

// BYBIT's environment: demo or testnet with paper, mainnet live; left out: the database's rule
// (demo when paper, mainnet when live); BYBIT only.
TEST(DeploymentConfig, BybitEnvironmentMatchesPaper) {
    auto doc = minimal();
    doc["broker"] = "BYBIT";
    doc["qty"] = 0.01;
    EXPECT_EQ(quant::to_json(quant::parse_deployment_config(doc)).count("environment"), 0U);
    for (const char* env : {"demo", "testnet"}) {
        doc["environment"] = env;
        EXPECT_EQ(quant::to_json(quant::parse_deployment_config(doc))["environment"], env);
    }
    doc["environment"] = "mainnet";
    EXPECT_EQ(error_of(doc).field(), "environment");  // real funds need paper=false
    doc["paper"] = false;
    doc["confirm_live"] = true;
    doc["trade_password"] = "x";
    EXPECT_EQ(quant::to_json(quant::parse_deployment_config(doc))["environment"], "mainnet");
    doc["environment"] = "testnet";
    EXPECT_EQ(error_of(doc).field(), "environment");  // live trades on mainnet only
    doc["environment"] = "moon";
    EXPECT_EQ(error_of(doc).field(), "environment");
    auto paper = minimal();
    paper["environment"] = "demo";
    EXPECT_EQ(error_of(paper).field(), "environment");  // BYBIT only
}
