// Every golden value of ../shared/golden (copied into test/golden) through the core engine.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "quant/backtest.hpp"
#include "quant/indicators/registry.hpp"

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const std::string root = QUANT_TEST_DATA_DIR;

bool close_enough(double expected, double actual) {
    if (std::isnan(expected) || std::isnan(actual))
        return std::isnan(expected) && std::isnan(actual);
    if (std::isinf(expected) || std::isinf(actual))
        return expected == actual;
    const double diff = std::fabs(expected - actual);
    return diff <= 1e-12 || diff <= 1e-9 * std::fabs(expected);
}

double json_double(const quant::Json& v) {
    return v.is_null() ? std::nan("") : v.get<double>();
}

TEST(Golden, Backtests) {
    const auto doc = quant::Json::parse(read_file(root + "/test/golden/golden_backtests.json"));
    int checked = 0;
    for (const auto& c : doc["cases"]) {
        const auto bars = quant::read_bars_csv(read_file(root + "/data/" + c["data"].get<std::string>()));
        const auto cfg = quant::parse_strategy_config(c["config"]);
        const double fee = c["fee_bps"].get<double>();
        const auto s = quant::run_backtest(cfg, bars.view(), fee);
        const auto& e = c["expected"];
        const std::string label = c["config"].dump() + " fee=" + std::to_string(fee);
        for (const auto& [key, m] :
             {std::pair{"metrics", s.metrics}, std::pair{"buy_hold_metrics", s.buy_hold}}) {
            const auto got = quant::metrics_json(m);
            for (const auto& [mk, mv] : e[key].items()) {
                EXPECT_TRUE(close_enough(json_double(mv), json_double(got[mk])))
                    << label << " " << key << "." << mk << " expected " << mv << " got " << got[mk];
            }
        }
        EXPECT_EQ(e["bars"].get<std::size_t>(), s.bars) << label;
        EXPECT_TRUE(close_enough(json_double(e["last_position"]), s.last_position)) << label;
        EXPECT_EQ(e["position_changes"].get<std::size_t>(), s.position_changes) << label;
        ++checked;
    }
    EXPECT_EQ(checked, 68);
}

TEST(Golden, Indicators) {
    const auto bars = quant::read_bars_csv(read_file(root + "/data/ttrc_daily_ohlcv.csv"));
    std::istringstream csv(read_file(root + "/test/golden/golden_indicators.csv"));
    std::string line;
    std::getline(csv, line);
    std::vector<std::string> header;
    {
        std::stringstream hs(line);
        std::string h;
        while (std::getline(hs, h, ','))
            header.push_back(h);
    }
    const std::map<std::string, std::string> names{{"sma", "get_sma"},
                                                   {"ema", "get_ema"},
                                                   {"rsi", "get_rsi"},
                                                   {"bollinger", "get_bollinger_band"},
                                                   {"stochastic", "get_stochastic_oscillator"}};
    std::vector<std::vector<double>> computed(header.size());
    for (std::size_t c = 2; c < header.size(); ++c) {
        const auto us = header[c].rfind('_');
        const auto* info = quant::find_indicator(names.at(header[c].substr(0, us)));
        ASSERT_NE(info, nullptr) << header[c];
        computed[c].resize(bars.close.size());
        info->compute(bars.view(), quant::Column::v, std::stoi(header[c].substr(us + 1)), computed[c]);
    }
    std::size_t row = 0, values = 0;
    while (std::getline(csv, line)) {
        std::vector<std::string> f;
        std::stringstream ls(line);
        std::string cell;
        while (std::getline(ls, cell, ','))
            f.push_back(cell);
        while (f.size() < header.size())
            f.emplace_back();
        for (std::size_t c = 2; c < header.size(); ++c) {
            const double expected = f[c].empty() ? std::nan("") : std::stod(f[c]);
            ASSERT_TRUE(close_enough(expected, computed[c][row]))
                << header[c] << " bar " << row << " expected " << f[c] << " got " << computed[c][row];
            ++values;
        }
        ++row;
    }
    EXPECT_EQ(row, bars.close.size());
    EXPECT_GT(values, 80000u);
}

}  // namespace
