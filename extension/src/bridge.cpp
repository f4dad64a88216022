// The C++ side of bridge.h: every function is a guarded C entry point (see guard()).
#include "bridge.h"

#include "quant/backtest.hpp"
#include "quant/bar_interval.hpp"
#include "quant/breakers.hpp"
#include "quant/cancel.hpp"
#include "quant/catalog.hpp"
#include "quant/config_schema.hpp"
#include "quant/deployment_config.hpp"
#include "quant/error.hpp"
#include "quant/indicators/registry.hpp"
#include "quant/live_rules.hpp"
#include "quant/optimize.hpp"
#include "quant/params.hpp"
#include "quant/strategy_config.hpp"
#include "quant/trading.hpp"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <new>

struct QuantStrategy
{
	quant::StrategyConfig config;
	std::vector<std::string> products; // config.factor_products(), for quant_strategy_product
};

namespace
{

int (*interrupt_check)() = nullptr;

bool
interrupted()
{
	return interrupt_check != nullptr && interrupt_check() != 0;
}

void
copy_text(char *dst, std::size_t cap, const std::string &src)
{
	const std::size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
	std::memcpy(dst, src.data(), n);
	dst[n] = '\0';
}

QuantStatus
status_of(quant::ErrorCode code)
{
	switch (code)
	{
		case quant::ErrorCode::invalid_config:
			return QUANT_INVALID_CONFIG;
		case quant::ErrorCode::malformed_json:
			return QUANT_MALFORMED_JSON;
		case quant::ErrorCode::limit_exceeded:
			return QUANT_LIMIT_EXCEEDED;
		case quant::ErrorCode::no_data:
			return QUANT_NO_DATA;
		case quant::ErrorCode::insufficient_data:
			return QUANT_INSUFFICIENT_DATA;
		case quant::ErrorCode::invalid_argument:
			return QUANT_INVALID_ARGUMENT;
		case quant::ErrorCode::cancelled:
			return QUANT_CANCELLED;
		case quant::ErrorCode::internal:
			return QUANT_INTERNAL;
	}
	return QUANT_INTERNAL;
}

// The one guard: runs `body` with cancellation wired to Postgres, and turns every exception
// into a QuantError. Nothing escapes.
template <typename Body>
QuantStatus
guard(QuantError *err, Body &&body) noexcept
{
	err->status = QUANT_OK;
	err->field[0] = err->message[0] = err->hint[0] = '\0';
	try
	{
		quant::ScopedInterruptCheck scope(&interrupted);
		body();
		return QUANT_OK;
	}
	catch (const quant::Error &e)
	{
		err->status = status_of(e.code());
		copy_text(err->field, sizeof err->field, e.field());
		copy_text(err->message, sizeof err->message, e.what());
		copy_text(err->hint, sizeof err->hint, e.hint());
	}
	catch (const std::bad_alloc &)
	{
		err->status = QUANT_OUT_OF_MEMORY;
		copy_text(err->message, sizeof err->message, "out of memory in the quant engine");
	}
	catch (const std::exception &e)
	{
		err->status = QUANT_INTERNAL;
		copy_text(err->message, sizeof err->message, std::string("internal error: ") + e.what());
	}
	catch (...)
	{
		err->status = QUANT_INTERNAL;
		copy_text(err->message, sizeof err->message, "internal error: unknown exception");
	}
	return err->status;
}

quant::BarSeries
view(const QuantBars *b)
{
	return {{b->ts, b->n},  {b->open, b->n},  {b->high, b->n},
	        {b->low, b->n}, {b->close, b->n}, {b->volume, b->n}};
}

quant::StrategyBars
strategy_bars(const QuantStrategy *s, const QuantStrategyBars *b)
{
	std::vector<quant::ProductBars> products;
	for (std::size_t i = 0; i < s->products.size(); ++i)
		products.push_back({s->products[i], view(&b->products[i])});
	return quant::align_strategy_bars(s->config, view(&b->trading), products);
}

const quant::IndicatorInfo &
indicator_or_throw(const char *name)
{
	const auto *info = quant::find_indicator(name);
	if (info == nullptr)
	{
		throw quant::Error(quant::ErrorCode::invalid_argument, "indicator",
		                   std::string("indicator: unknown indicator \"") + name + "\"",
		                   "valid indicators: " + quant::indicator_names());
	}
	return *info;
}

quant::Column
column_or_throw(const char *name)
{
	return quant::parse_column(name, "data_column", quant::ErrorCode::invalid_argument);
}

char *
malloc_copy(const std::string &s, std::size_t *len)
{
	char *p = static_cast<char *>(
	    std::malloc(s.size() + 1)); // NOLINT(cppcoreguidelines-no-malloc): freed by quant_free from C
	if (p == nullptr)
		throw std::bad_alloc();
	std::memcpy(p, s.data(), s.size());
	p[s.size()] = '\0';
	*len = s.size();
	return p;
}

// The grid document, with errors inside it named from "grid" ("grid[0].signal[0]").
quant::Json
parse_grid_json(const char *grid_json, size_t grid_len)
{
	try
	{
		return quant::parse_json(std::string_view(grid_json, grid_len));
	}
	catch (const quant::Error &e)
	{
		if (e.field().empty())
			throw;
		const std::string sep = e.field().front() == '[' ? "" : ".";
		throw quant::Error(e.code(), "grid" + sep + e.field(), "grid" + sep + e.what(), e.hint());
	}
}

std::function<bool(std::size_t, std::size_t)>
progress_of(const QuantSearchOptions *o)
{
	if (o->progress == nullptr)
		return {};
	return [o](std::size_t done, std::size_t total)
	{ return o->progress(o->progress_ctx, done, total) == 0; };
}

} // namespace

extern "C"
{

	void
	quant_set_interrupt_check(int (*check)())
	{
		interrupt_check = check;
	}

	QuantStatus
	quant_strategy_parse(const char *json, size_t len, QuantStrategy **out, QuantError *err)
	{
		*out = nullptr;
		return guard(
		    err,
		    [&]
		    {
			    auto *s = new QuantStrategy{quant::parse_strategy_config(std::string_view(json, len)), {}};
			    s->products = s->config.factor_products();
			    *out = s;
		    });
	}

	void
	quant_strategy_free(void *strategy)
	{
		delete static_cast<QuantStrategy *>(strategy);
	}

	const char *
	quant_strategy_ticker(const QuantStrategy *s)
	{
		return s->config.ticker.c_str();
	}
	int
	quant_strategy_substrategy_count(const QuantStrategy *s)
	{
		return static_cast<int>(s->config.substrategies.size());
	}
	int
	quant_strategy_product_count(const QuantStrategy *s)
	{
		return static_cast<int>(s->products.size());
	}
	const char *
	quant_strategy_product(const QuantStrategy *s, int i)
	{
		return s->products[static_cast<std::size_t>(i)].c_str();
	}
	int
	quant_strategy_warning_count(const QuantStrategy *s)
	{
		return static_cast<int>(s->config.warnings.size());
	}
	const char *
	quant_strategy_warning(const QuantStrategy *s, int i)
	{
		return s->config.warnings[static_cast<std::size_t>(i)].c_str();
	}
	int
	quant_strategy_warning_is_strong(const QuantStrategy *s, int i)
	{
		return quant::warning_is_strong(s->config.warnings[static_cast<std::size_t>(i)]) ? 1 : 0;
	}
	const char *
	quant_strategy_interval(const QuantStrategy *s)
	{
		return s->config.interval->name.data();
	}

	QuantStatus
	quant_run_backtest_json(const QuantStrategy *s, const QuantStrategyBars *bars, double fee_bps,
	                        int64_t run_at_unix_us, char **json_out, size_t *len_out, QuantError *err)
	{
		*json_out = nullptr;
		return guard(err,
		             [&]
		             {
			             const auto summary = quant::run_backtest(s->config, strategy_bars(s, bars), fee_bps);
			             *json_out = malloc_copy(
			                 quant::backtest_results_text(s->config, summary, fee_bps, run_at_unix_us),
			                 len_out);
		             });
	}

	QuantStatus
	quant_run_backtest_series(const QuantStrategy *s, const QuantStrategyBars *bars, double fee_bps,
	                          QuantSeriesOut *out, QuantError *err)
	{
		return guard(err,
		             [&]
		             {
			             quant::BacktestSeries series;
			             quant::run_backtest(s->config, strategy_bars(s, bars), fee_bps, &series);
			             const std::size_t n = bars->trading.n;
			             const auto copy = [n](const std::vector<double> &from, double *to)
			             { std::memcpy(to, from.data(), n * sizeof(double)); };
			             copy(series.price, out->price);
			             copy(series.position, out->position);
			             copy(series.pnl, out->pnl);
			             copy(series.cumulative, out->cumulative);
			             copy(series.drawdown, out->drawdown);
			             copy(series.buy_hold_cumulative, out->buy_hold_cumulative);
			             copy(series.buy_hold_drawdown, out->buy_hold_drawdown);
			             for (std::size_t j = 0; j < series.indicator.size(); ++j)
			             {
				             copy(series.indicator[j], out->indicator + j * n);
				             copy(series.substrategy_position[j], out->substrategy_position + j * n);
			             }
		             });
	}

	QuantStatus
	quant_run_evaluate_json(const QuantStrategy *s, const QuantStrategyBars *bars, char **json_out,
	                        size_t *len_out, QuantError *err)
	{
		*json_out = nullptr;
		return guard(err,
		             [&]
		             {
			             const auto live = quant::evaluate_live(s->config, strategy_bars(s, bars));
			             *json_out = malloc_copy(quant::live_signal_json(s->config, live).dump(), len_out);
		             });
	}

	QuantStatus
	quant_run_optimize_json(const QuantStrategy *s, const char *grid_json, size_t grid_len,
	                        const QuantStrategyBars *bars, const QuantSearchOptions *options, char **json_out,
	                        size_t *len_out, QuantError *err)
	{
		*json_out = nullptr;
		return guard(err,
		             [&]
		             {
			             const auto grid = quant::parse_grid(parse_grid_json(grid_json, grid_len), s->config);
			             quant::OptimizeOptions opt;
			             opt.fee_bps = options->fee_bps;
			             if (options->objective != nullptr)
				             opt.objective = quant::parse_objective(options->objective);
			             opt.top_n = quant::check_top_n(options->top_n);
			             opt.keep_cells = options->include_cells != 0;
			             opt.threads = quant::check_threads(options->threads);
			             opt.progress = progress_of(options);
			             const auto result = quant::optimize(s->config, grid, strategy_bars(s, bars), opt);
			             *json_out =
			                 malloc_copy(quant::optimize_json(s->config, result, opt).dump(), len_out);
		             });
	}

	QuantStatus
	quant_run_walk_forward_json(const QuantStrategy *s, const char *grid_json, size_t grid_len,
	                            const QuantStrategyBars *bars, const QuantSearchOptions *options,
	                            char **json_out, size_t *len_out, QuantError *err)
	{
		*json_out = nullptr;
		return guard(
		    err,
		    [&]
		    {
			    const auto grid = quant::parse_grid(parse_grid_json(grid_json, grid_len), s->config);
			    quant::WalkForwardOptions opt;
			    opt.fee_bps = options->fee_bps;
			    opt.split_ratio = options->split_ratio;
			    opt.warmup = quant::parse_warmup(options->warmup != nullptr ? options->warmup : "restart");
			    opt.threads = quant::check_threads(options->threads);
			    opt.progress = progress_of(options);
			    const auto result = quant::walk_forward(s->config, grid, strategy_bars(s, bars), opt);
			    *json_out = malloc_copy(quant::walk_forward_json(s->config, result, opt).dump(), len_out);
		    });
	}

	QuantStatus
	quant_indicator_check(const char *indicator, int window, const char *data_column, size_t nbars,
	                      QuantError *err)
	{
		return guard(err,
		             [&]
		             {
			             const auto &info = indicator_or_throw(indicator);
			             quant::check_window(info, window, "window", quant::ErrorCode::invalid_argument);
			             if (data_column != nullptr)
				             column_or_throw(data_column);
			             if (nbars > 0 && static_cast<std::size_t>(info.first_defined(window)) + 1 > nbars)
			             {
				             throw quant::Error(quant::ErrorCode::insufficient_data, "window",
				                                "window: " + std::string(info.name) + " with window " +
				                                    std::to_string(window) + " needs at least " +
				                                    std::to_string(info.first_defined(window) + 1) +
				                                    " values, got " + std::to_string(nbars),
				                                "use a smaller window or more data");
			             }
		             });
	}

	QuantStatus
	quant_indicator_on_bars(const char *indicator, const QuantBars *bars, const char *data_column, int window,
	                        double *out, QuantError *err)
	{
		return guard(err,
		             [&]
		             {
			             const auto &info = indicator_or_throw(indicator);
			             info.compute(view(bars), column_or_throw(data_column), window,
			                          std::span<double>(out, bars->n));
		             });
	}

	int
	quant_indicator_count(void)
	{
		return static_cast<int>(quant::indicator_registry().size());
	}

	void
	quant_indicator_info(int i, QuantIndicatorInfo *out)
	{
		const auto &e = quant::indicator_registry()[static_cast<std::size_t>(i)];
		// Registry names are string literals: NUL-terminated, static lifetime.
		out->name = e.name.data();
		out->description = e.description.data();
		out->bounded = e.bounded;
		out->price_level = e.price_level;
		out->reads_hlc = e.reads_hlc;
		out->window_floor = e.window_floor;
		out->window_min = e.window_range.min;
		out->window_max = e.window_range.max;
		out->window_step = e.window_range.step;
		out->signal_min = e.signal_range.min;
		out->signal_max = e.signal_range.max;
		out->signal_step = e.signal_range.step;
	}

	int
	quant_signal_func_count(void)
	{
		return static_cast<int>(quant::signal_func_registry().size());
	}

	void
	quant_signal_func_info(int i, QuantSignalFuncInfo *out)
	{
		const auto &e = quant::signal_func_registry()[static_cast<std::size_t>(i)];
		out->name = e.name.data();
		out->description = e.description.data();
		switch (e.kind)
		{
			case quant::SignalKind::momentum_band:
				out->kind = "momentum_band";
				break;
			case quant::SignalKind::reversion_band:
				out->kind = "reversion_band";
				break;
			case quant::SignalKind::momentum_bounded:
				out->kind = "momentum_bounded";
				break;
			case quant::SignalKind::reversion_bounded:
				out->kind = "reversion_bounded";
				break;
		}
		out->long_only = e.long_only;
		out->for_bounded = e.for_bounded;
	}

	void
	quant_free(void *p)
	{
		std::free(p); // NOLINT(cppcoreguidelines-no-malloc): the C side owns malloc_copy results
	}

	// ---- the registry of strategies and deployments (fmgr_registry.c) ----

	QuantStatus
	quant_strategy_normalize_json(const char *json, size_t len, char **json_out, size_t *len_out,
	                              QuantError *err)
	{
		*json_out = nullptr;
		return guard(err,
		             [&]
		             {
			             *json_out = malloc_copy(
			                 quant::to_json(quant::parse_strategy_config(std::string_view(json, len))).dump(),
			                 len_out);
		             });
	}

	QuantStatus
	quant_deployment_normalize_json(const char *json, size_t len, char **json_out, size_t *len_out,
	                                QuantError *err)
	{
		*json_out = nullptr;
		return guard(
		    err,
		    [&]
		    {
			    *json_out = malloc_copy(
			        quant::to_json(quant::parse_deployment_config(std::string_view(json, len))).dump(),
			        len_out);
		    });
	}

	QuantStatus
	quant_json_non_finite_to_null(const char *json, size_t len, char **json_out, size_t *len_out,
	                              QuantError *err)
	{
		*json_out = nullptr;
		return guard(err,
		             [&]
		             {
			             const std::string text = quant::non_finite_to_null(std::string_view(json, len));
			             (void) quant::parse_json(text);
			             *json_out = malloc_copy(text, len_out);
		             });
	}

} // extern "C"

extern "C" QuantStatus
quant_strategy_to_json(const QuantStrategy *s, char **json_out, size_t *len_out, QuantError *err)
{
	*json_out = nullptr;
	return guard(err, [&] { *json_out = malloc_copy(quant::to_json(s->config).dump(), len_out); });
}

// ---- the live loop's rules (fmgr_trading.c) ----

extern "C" QuantStatus
quant_stop_loss_triggered(double position, double average_price, double last_price, double stop_loss_pct,
                          int *out, QuantError *err)
{
	*out = 0;
	return guard(
	    err, [&]
	    { *out = quant::stop_loss_triggered(position, average_price, last_price, stop_loss_pct) ? 1 : 0; });
}

extern "C" QuantStatus
quant_max_bar_age_hours(const char *risk_limits, size_t len, const char *schedule, int paper, double *out,
                        QuantError *err)
{
	*out = std::numeric_limits<double>::quiet_NaN();
	return guard(err,
	             [&]
	             {
		             const quant::RiskLimits limits =
		                 risk_limits == nullptr ? quant::RiskLimits{}
		                                        : quant::parse_risk_limits(
		                                              quant::parse_json(std::string_view(risk_limits, len)));
		             const auto hours = quant::max_bar_age_hours(limits, schedule, paper != 0);
		             if (hours)
			             *out = *hours;
	             });
}

extern "C" QuantStatus
quant_bar_is_stale(int64_t bar_ts_us, int64_t now_us, double max_age_hours, int *out, QuantError *err)
{
	*out = 0;
	return guard(err, [&] { *out = quant::bar_is_stale(bar_ts_us, now_us, max_age_hours) ? 1 : 0; });
}

extern "C" QuantStatus
quant_unrealised_loss_pct(double position, double average_price, double last_price, double *out,
                          QuantError *err)
{
	*out = std::numeric_limits<double>::quiet_NaN();
	return guard(err, [&] { *out = quant::unrealised_loss_pct(position, average_price, last_price); });
}

extern "C" QuantStatus
quant_position_after(double qty, double average_price, double delta, double price, double *new_qty,
                     double *new_avg_price, double *realized, QuantError *err)
{
	return guard(err,
	             [&]
	             {
		             const auto p = quant::position_after(qty, average_price, delta, price);
		             *new_qty = p.qty;
		             *new_avg_price = p.avg_price;
		             *realized = p.realized;
	             });
}

extern "C" QuantStatus
quant_risk_limits_json(const char *json, size_t len, char **json_out, size_t *len_out, QuantError *err)
{
	*json_out = nullptr;
	return guard(err,
	             [&]
	             {
		             const auto limits =
		                 quant::parse_risk_limits(quant::parse_json(std::string_view(json, len)));
		             *json_out = malloc_copy(quant::to_json(limits).dump(), len_out);
	             });
}

extern "C" QuantStatus
quant_account_limits_json(const char *json, size_t len, char **json_out, size_t *len_out, QuantError *err)
{
	*json_out = nullptr;
	return guard(err,
	             [&]
	             {
		             const auto limits =
		                 quant::parse_account_limits(quant::parse_json(std::string_view(json, len)));
		             *json_out = malloc_copy(quant::to_json_account(limits).dump(), len_out);
	             });
}

// ---- the catalogs (fmgr_catalog.c); their strings are literals: NUL-terminated, static ----

extern "C" int
quant_broker_count(void)
{
	return static_cast<int>(quant::broker_catalog().size());
}

extern "C" void
quant_broker_info(int i, QuantBrokerInfo *out)
{
	const auto &e = quant::broker_catalog()[static_cast<std::size_t>(i)];
	out->name = e.name.data();
	out->description = e.description.data();
	out->trades_live = e.trades_live ? 1 : 0;
}

extern "C" QuantStatus
quant_bar_interval_check(const char *name, const char *field, QuantError *err)
{
	return guard(err, [&] { (void) quant::parse_bar_interval(name, field); });
}

extern "C" int
quant_bar_interval_count(void)
{
	return static_cast<int>(quant::bar_interval_catalog().size());
}

extern "C" void
quant_bar_interval_info(int i, QuantBarIntervalInfo *out)
{
	const auto &e = quant::bar_interval_catalog()[static_cast<std::size_t>(i)];
	out->name = e.name.data();
	out->description = e.description.data();
	out->seconds = e.seconds;
	out->offset_seconds = e.offset_seconds;
	out->equity_bars_per_year = e.equity_bars_per_year;
	out->crypto_bars_per_year = e.crypto_bars_per_year;
}

extern "C" QuantStatus
quant_check_schedule_interval(const char *schedule, const char *interval, QuantError *err)
{
	return guard(err, [&] { quant::check_schedule_fits_interval(schedule, interval); });
}

extern "C" int
quant_market_count(void)
{
	return static_cast<int>(quant::market_catalog().size());
}

extern "C" void
quant_market_info(int i, QuantMarketInfo *out)
{
	const auto &e = quant::market_catalog()[static_cast<std::size_t>(i)];
	out->name = e.name.data();
	out->close_time_utc = e.close_time_utc.data();
	out->timezone = e.timezone.data();
	out->local_close = e.local_close.data();
	out->run_cron = e.run_cron.data();
	out->description = e.description.data();
	out->whole_shares = e.whole_shares ? 1 : 0;
}

extern "C" int
quant_schedule_count(void)
{
	return static_cast<int>(quant::schedule_catalog().size());
}

extern "C" void
quant_schedule_info(int i, QuantScheduleInfo *out)
{
	const auto &e = quant::schedule_catalog()[static_cast<std::size_t>(i)];
	out->name = e.name.data();
	out->description = e.description.data();
	out->cron = e.cron ? 1 : 0;
	out->default_max_bar_age_hours = e.default_max_bar_age_hours;
}

namespace
{

void
status_info(std::span<const quant::StatusInfo> table, int i, QuantStatusInfo *out)
{
	const auto &e = table[static_cast<std::size_t>(i)];
	out->name = e.name.data();
	out->description = e.description.data();
	out->terminal = e.terminal ? 1 : 0;
}

} // namespace

extern "C" int
quant_signal_status_count(void)
{
	return static_cast<int>(quant::signal_status_catalog().size());
}

extern "C" void
quant_signal_status_info(int i, QuantStatusInfo *out)
{
	status_info(quant::signal_status_catalog(), i, out);
}

extern "C" int
quant_order_status_count(void)
{
	return static_cast<int>(quant::order_status_catalog().size());
}

extern "C" void
quant_order_status_info(int i, QuantStatusInfo *out)
{
	status_info(quant::order_status_catalog(), i, out);
}

extern "C" QuantStatus
quant_config_schema_json(int deployment, char **json_out, size_t *len_out, QuantError *err)
{
	*json_out = nullptr;
	return guard(err,
	             [&]
	             {
		             const auto schema = deployment != 0 ? quant::deployment_config_schema()
		                                                 : quant::strategy_config_schema();
		             *json_out = malloc_copy(schema.dump(), len_out);
	             });
}
