// The JSON Schemas against the validators: the schema lists exactly the keys the validator
// accepts, at every level (top level, substrategies, risk_limits). Values are checked against a
// real JSON Schema validator by config_schema_examples.py.
#include "quant/config_schema.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "quant/deployment_config.hpp"
#include "quant/error.hpp"
#include "quant/strategy_config.hpp"

namespace {

using quant::Json;

const char* const sid = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

Json strategy() {
    return Json::parse(R"({"ticker": "TTRC", "trading_period": 252, "substrategies": [
        {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 20, "signal": 0.0}]})");
}

Json deployment() {
    return Json{{"strategy_id", sid}, {"qty", 10}, {"risk_limits", Json::object()}};
}

// Keys a validator might plausibly accept: the schema's own, what the normalisers and the
// registry write, and near misses.
std::set<std::string> candidates(const Json& schema_properties) {
    std::set<std::string> out{"id",          "config",   "status",       "user_id",       "owner",
                              "description", "versions", "deleted_at",   "latest_result", "risk",
                              "limits",      "max_qty",  "signals",      "windows",       "market_id",
                              "source",      "live",     "live_since",   "paused",        "strategy",
                              "bars",        "fee_bps",  "data_range",   "metrics",       "stopped_at",
                              "Ticker",      "window ",  "max_position", "stop_loss",     "recent_trades"};
    for (const auto& [key, value] : schema_properties.items())
        out.insert(key);
    const Json written[] = {
        quant::to_json(quant::parse_strategy_config(strategy())),
        quant::to_json(quant::parse_strategy_config(strategy())).at("substrategies").at(0),
        quant::to_json(quant::parse_deployment_config(deployment())), quant::to_json(quant::RiskLimits{})};
    for (const Json& doc : written) {
        for (const auto& [key, value] : doc.items())
            out.insert(key);
    }
    return out;
}

// True unless parsing `doc` fails with "unknown field" on `field`.
template <typename Parse>
bool accepted(const Json& doc, const std::string& field, Parse parse) {
    try {
        parse(doc);
    } catch (const quant::Error& e) {
        return !(e.field() == field && std::string(e.what()).find("unknown field") != std::string::npos);
    }
    return true;
}

template <typename Parse>
void expect_same_keys(const Json& base, const Json& object_schema, const std::string& prefix,
                      const std::function<Json&(Json&)>& at, Parse parse) {
    const Json& props = object_schema.at("properties");
    EXPECT_EQ(object_schema.at("additionalProperties"), false) << prefix;
    for (const auto& key : candidates(props)) {
        Json doc = base;
        at(doc)[key] = 1;
        EXPECT_EQ(accepted(doc, prefix + key, parse), props.contains(key))
            << "key \"" << prefix + key << "\": validator and schema disagree";
    }
}

TEST(ConfigSchema, StrategyKeysAreTheValidatorsKeys) {
    const Json schema = quant::strategy_config_schema();
    const auto parse = [](const Json& d) { return quant::parse_strategy_config(d); };
    expect_same_keys(
        strategy(), schema, "", [](Json& d) -> Json& { return d; }, parse);
    expect_same_keys(
        strategy(), schema["properties"]["substrategies"]["items"], "substrategies[0].",
        [](Json& d) -> Json& { return d["substrategies"][0]; }, parse);
}

TEST(ConfigSchema, DeploymentKeysAreTheValidatorsKeys) {
    const Json schema = quant::deployment_config_schema();
    const auto parse = [](const Json& d) { return quant::parse_deployment_config(d); };
    expect_same_keys(
        deployment(), schema, "", [](Json& d) -> Json& { return d; }, parse);
    expect_same_keys(
        deployment(), schema["properties"]["risk_limits"], "risk_limits.",
        [](Json& d) -> Json& { return d["risk_limits"]; }, parse);
}

TEST(ConfigSchema, RequiredKeysAreRequiredByTheValidator) {
    const Json strategy_schema = quant::strategy_config_schema();
    for (const auto& key : strategy_schema.at("required")) {
        Json doc = strategy();
        doc.erase(key.get<std::string>());
        EXPECT_THROW(quant::parse_strategy_config(doc), quant::Error) << key;
    }
    const Json deployment_schema = quant::deployment_config_schema();
    for (const auto& key : deployment_schema.at("required")) {
        Json doc = deployment();
        doc.erase(key.get<std::string>());
        EXPECT_THROW(quant::parse_deployment_config(doc), quant::Error) << key;
    }
}

TEST(ConfigSchema, CatalogsAreTheEnumerations) {
    const Json d = quant::deployment_config_schema();
    EXPECT_EQ(d["properties"]["broker"]["examples"], Json::array({"PAPER", "BYBIT", "FUTU"}));
    EXPECT_EQ(d["properties"]["schedule"]["examples"], Json::array({"daily_close", "hourly", "manual"}));
    const Json s = quant::strategy_config_schema();
    EXPECT_EQ(s["properties"]["conjunction"]["examples"], Json::array({"AND", "OR", "FILTER"}));
    EXPECT_EQ(s["properties"]["substrategies"]["items"]["properties"]["indicator"]["enum"].size(),
              quant::indicator_registry().size());
}

}  // namespace
