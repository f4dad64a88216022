#include "quant/strategy_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "config_fields.hpp"
#include "quant/error.hpp"
#include "quant/uuid.hpp"
#include "table_names.hpp"

namespace quant {

namespace {

using fields::fail;
using fields::FieldSpec;
using fields::get_int;
using fields::join_keys;
using fields::reject_unknown_keys;
using fields::shown;
using fields::Type;
using fields::type_name;

std::vector<std::string> indicator_choices() {
    return names::list(indicator_registry(), &IndicatorInfo::name);
}

std::vector<std::string> signal_func_choices() {
    return names::list(signal_func_registry(), &SignalFuncInfo::name);
}

std::vector<std::string> column_choices() {
    return names::list(column_names());
}

std::vector<std::string> conjunction_choices() {
    return {"AND", "OR", "FILTER"};
}

// In the order the hints list them. The ignored keys are what quant.get_strategy adds to a stored
// strategy, so that its output is a valid config as it stands.
std::vector<std::string> align_choices() {
    return {"exact", "asof"};
}

std::vector<std::string> interval_choices() {
    return names::list(bar_interval_catalog(), &BarIntervalInfo::name);
}

const std::array<FieldSpec, 9> substrategy_table{{
    {.key = "id",
     .type = Type::integer,
     .minimum = 1,
     .maximum = 1000000,
     .description = "unique within the strategy; default: the position in the list, from 1"},
    {.key = "indicator",
     .required = true,
     .choices = indicator_choices,
     .description = "an indicator of refdata.indicator"},
    {.key = "signal_func",
     .required = true,
     .choices = signal_func_choices,
     .description = "a signal function of refdata.signal_func"},
    {.key = "window",
     .type = Type::integer,
     .required = true,
     .minimum = 1,
     .maximum = max_window,
     .description = "bars; at least the indicator's window_floor (refdata.indicator)"},
    {.key = "signal", .type = Type::number, .required = true, .description = "the signal threshold"},
    {.key = "data_column",
     .choices = column_choices,
     .description = "the factor the indicator reads; v (the close) by default"},
    {.key = "ticker",
     .min_length = 1,
     .max_length = 64,
     .description = "the product whose bars the indicator reads (its data ticker in md.bar); the traded "
                    "product by default"},
    {.key = "align",
     .choices = align_choices,
     .description =
         "how that product's bars meet the traded bars' times: exact (default; NaN where it "
         "has no bar at that time) or asof (its last bar at or before that time, carried forward)"},
    {.key = "internal_cusip",
     .nullable = true,
     .min_length = 1,
     .max_length = max_product_id_length,
     .description = "the product the client named (quant.list_products); SQL resolves it to its data ticker"},
}};

const std::array<FieldSpec, 17> strategy_table{{
    {.key = "strategy_id",
     .nullable = true,
     .format = "uuid",
     .description = "leave it out to have one generated"},
    {.key = "name",
     .nullable = true,
     .max_length = max_name_length,
     .description = "generated from the substrategies when not given"},
    {.key = "version", .type = Type::integer, .nullable = true, .minimum = 1, .maximum = 1000000000},
    {.key = "created_at", .ignored = true},
    {.key = "updated_at", .ignored = true},
    {.key = "ticker",
     .min_length = 1,
     .max_length = 64,
     .description =
         "the data-source symbol whose bars are in md.bar, e.g. BTC-USD; required unless internal_cusip "
         "names a product"},
    {.key = "internal_cusip",
     .nullable = true,
     .min_length = 1,
     .max_length = max_product_id_length,
     .description =
         "the client's product identifier (quant.list_products), e.g. aapl.nyse: SQL resolves it to the "
         "product's data ticker when ticker is absent"},
    {.key = "conjunction",
     .nullable = true,
     .choices = conjunction_choices,
     .fold_case = true,
     .description =
         "how substrategy positions combine: AND (default), OR, FILTER (the first gates the rest)"},
    {.key = "interval",
     .nullable = true,
     .choices = interval_choices,
     .description = "the bar interval of the bars it reads (refdata.bar_interval, md.bar.interval): 1d by "
                    "default; a deployment's schedule must fit it (hourly: 1h, daily_close: 1d)"},
    {.key = "trading_period",
     .type = Type::integer,
     .required = true,
     .minimum = 1,
     .maximum = max_trading_period,
     .description =
         "bars per year (refdata.bar_interval): 252 (equity days), 365 (crypto days), 8760 (crypto "
         "hours), 1638 (US equity hours)"},
    {.key = "substrategies",
     .type = Type::array,
     .required = true,
     .min_items = 1,
     .max_items = max_substrategies,
     .children = fields::substrategy_fields},
    {.key = "fill_delay_bars",
     .type = Type::integer,
     .minimum = 0,
     .maximum = max_fill_delay_bars,
     .description = "0 fills at the signal's own close, 1 at the next bar's close"},
    {.key = "description", .ignored = true},
    {.key = "user_id", .ignored = true},
    {.key = "versions", .ignored = true},
    {.key = "deleted_at", .ignored = true},
    {.key = "latest_result", .ignored = true},
}};

std::string get_string(const Json& v, const std::string& field, const std::string& hint = {}) {
    if (!v.is_string())
        fail(field, "must be a string, got " + type_name(v), hint);
    return v.get<std::string>();
}

std::string get_product_id(const Json& v, const std::string& field) {
    std::string id = get_string(v, field, "a product of quant.list_products, e.g. \"aapl.nyse\"");
    if (id.empty() || id.size() > max_product_id_length) {
        fail(field, "must be 1 to " + std::to_string(max_product_id_length) + " characters",
             "a product of quant.list_products, e.g. \"aapl.nyse\"");
    }
    return id;
}

Conjunction parse_conjunction(std::string name) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    if (name == "AND")
        return Conjunction::all;
    if (name == "OR")
        return Conjunction::any;
    if (name == "FILTER")
        return Conjunction::filter;
    fail("conjunction", "unknown conjunction \"" + name + "\"", "valid conjunctions: AND, OR, FILTER");
}

std::string_view short_indicator_name(std::string_view name) {
    if (name == "get_bollinger_band")
        return "bollinger";
    if (name == "get_stochastic_oscillator")
        return "stochastic";
    if (name.starts_with("get_"))
        name.remove_prefix(4);
    return name;
}

// Python's repr of a float: the shortest round-trip digits, with ".0" when integral.
std::string float_repr(double v) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, p);
    if (s.find_first_of(".eEn") == std::string::npos)
        s += ".0";
    return s;
}

SubStrategy parse_substrategy(const Json& s, std::size_t index, std::vector<std::string>& warnings) {
    const std::string at = "substrategies[" + std::to_string(index) + "]";
    if (!s.is_object())
        fail(at, "must be an object, got " + type_name(s));
    reject_unknown_keys(s, substrategy_table, at + ".");
    SubStrategy sub;
    sub.id = s.contains("id") ? get_int(s["id"], at + ".id", 1, 1000000) : static_cast<int>(index) + 1;

    if (!s.contains("indicator"))
        fail(at + ".indicator", "is required", "valid indicators: " + indicator_names());
    const std::string ind =
        get_string(s["indicator"], at + ".indicator", "valid indicators: " + indicator_names());
    sub.indicator = find_indicator(ind);
    if (sub.indicator == nullptr) {
        fail(at + ".indicator", "unknown indicator \"" + ind + "\"",
             "valid indicators: " + indicator_names());
    }

    if (!s.contains("signal_func")) {
        fail(at + ".signal_func", "is required", "valid signal functions: " + signal_func_names());
    }
    const std::string sf =
        get_string(s["signal_func"], at + ".signal_func", "valid signal functions: " + signal_func_names());
    sub.signal_func = find_signal_func(sf);
    if (sub.signal_func == nullptr) {
        fail(at + ".signal_func", "unknown signal function \"" + sf + "\"",
             "valid signal functions: " + signal_func_names());
    }

    if (!s.contains("window")) {
        fail(at + ".window", "is required",
             std::string(sub.indicator->name) + " needs a window of at least " +
                 std::to_string(sub.indicator->window_floor) + " (at most " + std::to_string(max_window) +
                 ")");
    }
    sub.window = check_window(*sub.indicator, s["window"], at + ".window", ErrorCode::invalid_config);

    if (!s.contains("signal"))
        fail(at + ".signal", "is required", "a finite number: the signal threshold");
    const Json& sig = s["signal"];
    if (!sig.is_number())
        fail(at + ".signal", "must be a number, got " + type_name(sig), "a finite number");
    sub.signal = sig.get<double>();
    if (!std::isfinite(sub.signal))
        fail(at + ".signal", "must be finite, got " + shown(sig), "a finite number");

    sub.data_column = s.contains("data_column")
                          ? parse_column(get_string(s["data_column"], at + ".data_column",
                                                    "valid data columns: " + std::string(column_names_hint)),
                                         at + ".data_column", ErrorCode::invalid_config)
                          : Column::v;
    if (s.contains("internal_cusip") && !s["internal_cusip"].is_null())
        sub.internal_cusip = get_product_id(s["internal_cusip"], at + ".internal_cusip");

    if (s.contains("ticker")) {
        sub.ticker = get_string(s["ticker"], at + ".ticker", "the data ticker of a product in md.bar");
        if (sub.ticker.empty() || sub.ticker.size() > 64)
            fail(at + ".ticker", "must be 1 to 64 characters", "the data ticker of a product in md.bar");
    }
    if (s.contains("align")) {
        sub.align = parse_align(
            get_string(s["align"], at + ".align", "valid alignments: " + std::string(align_names_hint)),
            at + ".align");
    }

    const auto& info = *sub.indicator;
    const auto& fn = *sub.signal_func;
    if (info.price_level && !fn.for_bounded) {
        warnings.push_back(at + ": " + std::string(info.name) + " is a price level, so a band signal at " +
                           float_repr(sub.signal) +
                           " is on the same side on almost every bar (like buy and hold); consider " +
                           std::string(info.name) + "_distance");
    } else if (info.bounded && !fn.for_bounded) {
        warnings.push_back(at + ": " + std::string(info.name) + " is bounded 0..100 but " +
                           std::string(fn.name) + " compares it with +/-" + float_repr(sub.signal) +
                           "; a *_bounded_signal is probably meant");
    } else if (!info.bounded && fn.for_bounded) {
        warnings.push_back(at + ": " + std::string(info.name) + " is not bounded 0..100 but " +
                           std::string(fn.name) +
                           " compares it with 100-s; a *_band_signal is probably meant");
    }
    if (info.reads_hlc && s.contains("data_column") && sub.data_column != Column::v &&
        sub.data_column != Column::close) {
        warnings.push_back(at + ": " + std::string(info.name) +
                           " reads high/low/close and ignores data_column");
    }
    return sub;
}

}  // namespace

namespace fields {
std::span<const FieldSpec> strategy_fields() {
    return strategy_table;
}
std::span<const FieldSpec> substrategy_fields() {
    return substrategy_table;
}
}  // namespace fields

int StrategyConfig::max_window() const {
    int w = 0;
    for (const auto& s : substrategies)
        w = std::max(w, s.window);
    return w;
}

std::vector<std::string> StrategyConfig::factor_products() const {
    std::vector<std::string> out;
    for (const auto& s : substrategies) {
        if (reads_other_product(s) && std::find(out.begin(), out.end(), s.ticker) == out.end())
            out.push_back(s.ticker);
    }
    return out;
}

int StrategyConfig::warmup_bars() const {
    int w = 0;
    for (const auto& s : substrategies)
        w = std::max(w, s.indicator->first_defined(s.window));
    return w + fill_delay_bars;
}

StrategyConfig parse_strategy_config(const Json& doc) {
    if (!doc.is_object()) {
        throw Error(ErrorCode::invalid_config, "",
                    "a strategy config must be a JSON object, got " + type_name(doc),
                    "fields: " + join_keys(strategy_table));
    }
    reject_unknown_keys(doc, strategy_table, "");
    StrategyConfig cfg;

    if (doc.contains("strategy_id") && !doc["strategy_id"].is_null()) {
        cfg.strategy_id = get_string(doc["strategy_id"], "strategy_id");
        if (!is_uuid(cfg.strategy_id)) {
            fail("strategy_id", "must be a UUID, got \"" + cfg.strategy_id + "\"",
                 "leave it out to have one generated");
        }
    }
    if (doc.contains("name") && !doc["name"].is_null()) {
        cfg.name = get_string(doc["name"], "name");
        if (cfg.name.size() > max_name_length) {
            fail("name", "is longer than " + std::to_string(max_name_length) + " characters");
        }
    }
    if (doc.contains("version") && !doc["version"].is_null()) {
        cfg.version = get_int(doc["version"], "version", 1, 1000000000);
    }
    if (doc.contains("internal_cusip") && !doc["internal_cusip"].is_null())
        cfg.internal_cusip = get_product_id(doc["internal_cusip"], "internal_cusip");
    if (!doc.contains("ticker") || doc["ticker"].is_null()) {
        // internal_cusip is resolved by SQL (the product catalog is in the database), never here
        if (!cfg.internal_cusip.empty()) {
            fail("ticker",
                 "is required: internal_cusip \"" + cfg.internal_cusip + "\" was not resolved to a ticker",
                 "the quant.* SQL functions and the REST API resolve internal_cusip through the product "
                 "catalog");
        }
        fail("ticker", "is required", "the data-source symbol whose bars are in md.bar, e.g. \"BTC-USD\"");
    }
    cfg.ticker = get_string(doc["ticker"], "ticker");
    if (cfg.ticker.empty() || cfg.ticker.size() > 64)
        fail("ticker", "must be 1 to 64 characters");

    if (doc.contains("conjunction") && !doc["conjunction"].is_null()) {
        cfg.conjunction = parse_conjunction(get_string(doc["conjunction"], "conjunction", "AND, OR, FILTER"));
    }
    if (doc.contains("interval") && !doc["interval"].is_null()) {
        cfg.interval = &parse_bar_interval(
            get_string(doc["interval"], "interval", "valid intervals: " + bar_interval_names()), "interval",
            ErrorCode::invalid_config);
    }
    if (!doc.contains("trading_period")) {
        fail("trading_period", "is required",
             "bars per year for annualising: 252 (equity days), 365 (crypto days)");
    }
    cfg.trading_period = get_int(doc["trading_period"], "trading_period", 1, max_trading_period,
                                 "bars per year: 252 (equity days), 365 (crypto days), 8760 (crypto hours)");
    if (doc.contains("fill_delay_bars")) {
        cfg.fill_delay_bars = get_int(doc["fill_delay_bars"], "fill_delay_bars", 0, max_fill_delay_bars,
                                      "0 fills at the signal's own close, 1 at the next bar's close");
    }

    if (!doc.contains("substrategies"))
        fail("substrategies", "is required", "an array of 1 to 16 substrategies");
    const Json& subs = doc["substrategies"];
    if (!subs.is_array())
        fail("substrategies", "must be an array, got " + type_name(subs));
    if (subs.empty() || subs.size() > static_cast<std::size_t>(max_substrategies)) {
        fail("substrategies", "must hold 1 to " + std::to_string(max_substrategies) + " substrategies, got " +
                                  std::to_string(subs.size()));
    }
    if (auto w = trading_period_warning(cfg.trading_period, *cfg.interval))
        cfg.warnings.push_back(std::move(*w));
    std::set<int> ids;
    for (std::size_t i = 0; i < subs.size(); ++i) {
        cfg.substrategies.push_back(parse_substrategy(subs[i], i, cfg.warnings));
        if (!ids.insert(cfg.substrategies.back().id).second) {
            fail("substrategies[" + std::to_string(i) + "].id",
                 "duplicate id " + std::to_string(cfg.substrategies.back().id));
        }
    }
    if (cfg.conjunction == Conjunction::filter && cfg.substrategies.size() < 2) {
        fail("conjunction", "FILTER needs at least 2 substrategies (a gate and one or more voters)");
    }
    if (cfg.name.empty() && !cfg.internal_cusip.empty() && !cfg.strategy_id.empty()) {
        // the user's pipeline names its strategies so: keep the same name on both sides
        cfg.name = cfg.internal_cusip + "_strategy_" + cfg.strategy_id.substr(0, 8);
    }
    if (cfg.name.empty())
        cfg.name = default_strategy_name(cfg);
    return cfg;
}

StrategyConfig parse_strategy_config(std::string_view text) {
    return parse_strategy_config(parse_json(text));
}

bool warning_is_strong(std::string_view warning) {
    return warning.starts_with("trading_period:");
}

std::string_view conjunction_name(Conjunction c) {
    switch (c) {
        case Conjunction::all:
            return "AND";
        case Conjunction::any:
            return "OR";
        case Conjunction::filter:
            return "FILTER";
    }
    return "AND";
}

std::string default_strategy_name(const StrategyConfig& cfg) {
    std::string name;
    for (const auto& s : cfg.substrategies) {
        if (!name.empty()) {
            name += "_";
            std::string c(conjunction_name(cfg.conjunction));
            std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::tolower(ch); });
            name += c + "_";
        }
        std::string_view fn = s.signal_func->name;
        std::string kind(fn.substr(0, fn.find('_')));
        if (s.signal_func->long_only)
            kind += "_long";
        name += std::string(short_indicator_name(s.indicator->name)) + "_" + kind + "_" +
                std::to_string(s.window) + "_" + float_repr(s.signal);
    }
    // Names are at most 200 characters; a long generated one keeps its start and says so.
    if (name.size() > max_name_length)
        name = name.substr(0, max_name_length - 3) + "...";
    return name;
}

Json to_json(const StrategyConfig& cfg) {
    Json subs = Json::array();
    for (const auto& s : cfg.substrategies) {
        Json sub{{"id", s.id},
                 {"indicator", s.indicator->name},
                 {"signal_func", s.signal_func->name},
                 {"window", s.window},
                 {"signal", s.signal},
                 {"data_column", column_name(s.data_column)}};
        if (!s.ticker.empty())
            sub["ticker"] = s.ticker;
        if (!s.ticker.empty() || s.align != Align::exact)
            sub["align"] = align_name(s.align);
        if (!s.internal_cusip.empty())
            sub["internal_cusip"] = s.internal_cusip;
        subs.push_back(std::move(sub));
    }
    Json out = Json::object();
    if (!cfg.strategy_id.empty())
        out["strategy_id"] = cfg.strategy_id;
    out["name"] = cfg.name;
    out["version"] = cfg.version;
    out["ticker"] = cfg.ticker;
    if (!cfg.internal_cusip.empty())
        out["internal_cusip"] = cfg.internal_cusip;
    out["conjunction"] = conjunction_name(cfg.conjunction);
    if (cfg.interval->name != default_bar_interval)
        out["interval"] = cfg.interval->name;
    out["trading_period"] = cfg.trading_period;
    out["fill_delay_bars"] = cfg.fill_delay_bars;
    out["substrategies"] = std::move(subs);
    return out;
}

}  // namespace quant
