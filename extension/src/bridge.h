/*
 * The plain-data boundary between PostgreSQL and the C++ core.
 *
 * The fmgr wrappers (fmgr_*.c) are C: they include postgres.h, may ereport, and can hold no
 * C++ object. The bridge (bridge*.cpp) is C++: it includes the core, never postgres.h, and
 * every function here is a guarded C entry point: it catches every exception and reports it
 * through QuantError, so nothing unwinds into Postgres and no ereport longjmps over C++ frames.
 * Memory the bridge returns is malloc'd and freed through the matching quant_*_free function.
 */
#ifndef QUANT_BRIDGE_H
#define QUANT_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

	/* The core's error codes (quant::ErrorCode), plus success. */
	typedef enum QuantStatus
	{
		QUANT_OK = 0,
		QUANT_INVALID_CONFIG,
		QUANT_MALFORMED_JSON,
		QUANT_LIMIT_EXCEEDED,
		QUANT_NO_DATA,
		QUANT_INSUFFICIENT_DATA,
		QUANT_INVALID_ARGUMENT,
		QUANT_CANCELLED,
		QUANT_OUT_OF_MEMORY,
		QUANT_INTERNAL
	} QuantStatus;

	typedef struct QuantError
	{
		QuantStatus status;
		char field[256]; /* JSON path or argument name; empty if none */
		char message[1024];
		char hint[1024];
	} QuantError;

	/* Columns of one ticker's bars in time order; ts in microseconds since the Unix epoch. */
	typedef struct QuantBars
	{
		const int64_t *ts;
		const double *open, *high, *low, *close, *volume;
		size_t n;
	} QuantBars;

	/* The bars a strategy reads: the traded product's (the time axis), and every bar of each other
	 * product its substrategies name, products[i] of quant_strategy_product(s, i). */
	typedef struct QuantStrategyBars
	{
		QuantBars trading;
		const QuantBars *products;
	} QuantStrategyBars;

	/* Called by long loops; non-zero means "stop" (the extension passes InterruptPending). */
	void quant_set_interrupt_check(int (*check)(void));

	/* ---- Strategy JSON ---- */
	typedef struct QuantStrategy QuantStrategy; /* a parsed, validated StrategyConfig */

	QuantStatus quant_strategy_parse(const char *json, size_t len, QuantStrategy **out, QuantError *err);
	void quant_strategy_free(void *strategy);
	const char *quant_strategy_ticker(const QuantStrategy *s);
	int quant_strategy_substrategy_count(const QuantStrategy *s);
	/* The other products the substrategies' indicators read (`ticker` of a substrategy), each once. */
	int quant_strategy_product_count(const QuantStrategy *s);
	const char *quant_strategy_product(const QuantStrategy *s, int i);
	int quant_strategy_warning_count(const QuantStrategy *s);
	const char *quant_strategy_warning(const QuantStrategy *s, int i);
	/* 1 when warning i is raised as a WARNING (quant::warning_is_strong), else a NOTICE. */
	int quant_strategy_warning_is_strong(const QuantStrategy *s, int i);
	/* The bar interval of the bars the strategy reads ("1d" unless its JSON says otherwise). */
	const char *quant_strategy_interval(const QuantStrategy *s);

	/* BacktestResults JSON text (malloc'd, free with quant_free). */
	QuantStatus quant_run_backtest_json(const QuantStrategy *s, const QuantStrategyBars *bars, double fee_bps,
	                                    int64_t run_at_unix_us, char **json_out, size_t *len_out,
	                                    QuantError *err);

	/* The per-bar columns: every array has bars->trading.n elements, indicator/position have k*n
	 * (substrategy-major), all allocated by the caller. */
	typedef struct QuantSeriesOut
	{
		double *price, *position, *pnl, *cumulative, *drawdown, *buy_hold_cumulative, *buy_hold_drawdown;
		double *indicator;
		double *substrategy_position;
	} QuantSeriesOut;

	QuantStatus quant_run_backtest_series(const QuantStrategy *s, const QuantStrategyBars *bars,
	                                      double fee_bps, QuantSeriesOut *out, QuantError *err);

	/* The live signal on the latest bar as JSON text {ticker, bar_ts, signal, substrategies:
	 * [{id, indicator, signal_func, window, value, position}]} (malloc'd, free with quant_free). */
	QuantStatus quant_run_evaluate_json(const QuantStrategy *s, const QuantStrategyBars *bars,
	                                    char **json_out, size_t *len_out, QuantError *err);

	/* Progress of a long search, called on the calling thread every few seconds; return non-zero
	 * to stop (the search then fails with QUANT_CANCELLED). */
	typedef int (*QuantProgress)(void *ctx, uint64_t done, uint64_t total);

	typedef struct QuantSearchOptions
	{
		double fee_bps;
		const char *objective; /* a metric key; NULL = sharpe_ratio */
		int top_n;
		int include_cells;
		int threads;        /* 0 = one per core */
		double split_ratio; /* walk-forward */
		const char *warmup; /* walk-forward: "restart" or "full" */
		QuantProgress progress;
		void *progress_ctx;
	} QuantSearchOptions;

	/* quant.optimize / quant.walk_forward: results as JSON text (malloc'd, free with quant_free). */
	QuantStatus quant_run_optimize_json(const QuantStrategy *s, const char *grid_json, size_t grid_len,
	                                    const QuantStrategyBars *bars, const QuantSearchOptions *options,
	                                    char **json_out, size_t *len_out, QuantError *err);
	QuantStatus quant_run_walk_forward_json(const QuantStrategy *s, const char *grid_json, size_t grid_len,
	                                        const QuantStrategyBars *bars, const QuantSearchOptions *options,
	                                        char **json_out, size_t *len_out, QuantError *err);

	/* ---- indicators ---- */

	/* Checks the indicator name, the window against its floor and the data column;
	 * nbars > 0 also checks that the indicator becomes defined within nbars. */
	QuantStatus quant_indicator_check(const char *indicator, int window, const char *data_column,
	                                  size_t nbars, QuantError *err);
	/* Over bars (data_column selects the factor; stochastic reads high/low/close). */
	QuantStatus quant_indicator_on_bars(const char *indicator, const QuantBars *bars, const char *data_column,
	                                    int window, double *out, QuantError *err);

	/* ---- the registry, for the REFDATA catalog ---- */
	typedef struct QuantIndicatorInfo
	{
		const char *name, *description;
		int bounded, price_level, reads_hlc, window_floor;
		double window_min, window_max, window_step, signal_min, signal_max, signal_step;
	} QuantIndicatorInfo;

	typedef struct QuantSignalFuncInfo
	{
		const char *name, *description, *kind;
		int long_only, for_bounded;
	} QuantSignalFuncInfo;

	int quant_indicator_count(void);
	void quant_indicator_info(int i, QuantIndicatorInfo *out);
	int quant_signal_func_count(void);
	void quant_signal_func_info(int i, QuantSignalFuncInfo *out);

	/* ---- the catalogs of quant/catalog.hpp, for the refdata tables (fmgr_catalog.c) ---- */
	typedef struct QuantBrokerInfo
	{
		const char *name, *description;
		int trades_live;
	} QuantBrokerInfo;

	typedef struct QuantMarketInfo
	{
		const char *name, *close_time_utc, *timezone, *local_close, *run_cron, *description;
		int whole_shares;
	} QuantMarketInfo;

	typedef struct QuantScheduleInfo
	{
		const char *name, *description;
		int cron;
		double default_max_bar_age_hours;
	} QuantScheduleInfo;

	typedef struct QuantStatusInfo
	{
		const char *name, *description;
		int terminal;
	} QuantStatusInfo;

	typedef struct QuantBarIntervalInfo
	{
		const char *name, *description;
		int64_t seconds, offset_seconds;
		int equity_bars_per_year, crypto_bars_per_year;
	} QuantBarIntervalInfo;

	/* quant::parse_bar_interval: QUANT_INVALID_ARGUMENT naming `field` for an unknown name. */
	QuantStatus quant_bar_interval_check(const char *name, const char *field, QuantError *err);
	int quant_bar_interval_count(void);
	void quant_bar_interval_info(int i, QuantBarIntervalInfo *out);
	/* quant::check_schedule_fits_interval: a deployment's schedule must fit its strategy's bar
	 * interval (QUANT_INVALID_CONFIG naming `schedule`). */
	QuantStatus quant_check_schedule_interval(const char *schedule, const char *interval, QuantError *err);

	int quant_broker_count(void);
	void quant_broker_info(int i, QuantBrokerInfo *out);
	int quant_market_count(void);
	void quant_market_info(int i, QuantMarketInfo *out);
	int quant_schedule_count(void);
	void quant_schedule_info(int i, QuantScheduleInfo *out);
	int quant_signal_status_count(void);
	void quant_signal_status_info(int i, QuantStatusInfo *out);
	int quant_order_status_count(void);
	void quant_order_status_info(int i, QuantStatusInfo *out);

	/* The JSON Schema of the Strategy (deployment = 0) or Deployment JSON as JSON text (malloc'd,
	 * free with quant_free). */
	QuantStatus quant_config_schema_json(int deployment, char **json_out, size_t *len_out, QuantError *err);

	void quant_free(void *p);

	/* ---- the registry of strategies and deployments (fmgr_registry.c) ---- */

	/* The normalised Strategy JSON (defaults filled, name generated when empty) as JSON text
	 * (malloc'd, free with quant_free). */
	QuantStatus quant_strategy_normalize_json(const char *json, size_t len, char **json_out, size_t *len_out,
	                                          QuantError *err);
	/* The normalised Deployment JSON (seed 1.2 defaults; confirm_live/trade_password dropped) as
	 * JSON text (malloc'd, free with quant_free). */
	QuantStatus quant_deployment_normalize_json(const char *json, size_t len, char **json_out,
	                                            size_t *len_out, QuantError *err);

	/* JSON text as Python's json.dumps writes it: NaN, Infinity and -Infinity outside strings
	 * become null, then the text is checked by the core's parser (its limits); the rewritten
	 * text (malloc'd, free with quant_free), numbers as they were written. */
	QuantStatus quant_json_non_finite_to_null(const char *json, size_t len, char **json_out, size_t *len_out,
	                                          QuantError *err);

	/* The normalised Strategy JSON of a parsed strategy (quant_strategy_parse; its warnings stay
	 * readable through quant_strategy_warning) as JSON text (malloc'd, free with quant_free). */
	QuantStatus quant_strategy_to_json(const QuantStrategy *s, char **json_out, size_t *len_out,
	                                   QuantError *err);

	/* ---- the live loop's rules (fmgr_trading.c) ---- */

	/* quant::stop_loss_triggered: *out = 1 when a position's unrealised loss is past stop_loss_pct
	 * of its entry value (0 for a flat position or a non-positive price or limit). */
	QuantStatus quant_stop_loss_triggered(double position, double average_price, double last_price,
	                                      double stop_loss_pct, int *out, QuantError *err);

	/* quant::max_bar_age_hours: the stale-bar limit of a deployment in hours, NaN when the check is
	 * off; risk_limits is its JSON text (NULL: none given). */
	QuantStatus quant_max_bar_age_hours(const char *risk_limits, size_t len, const char *schedule, int paper,
	                                    double *out, QuantError *err);
	/* quant::bar_is_stale */
	QuantStatus quant_bar_is_stale(int64_t bar_ts_us, int64_t now_us, double max_age_hours, int *out,
	                               QuantError *err);
	/* quant::unrealised_loss_pct: NaN for a flat position or a non-positive price. */
	QuantStatus quant_unrealised_loss_pct(double position, double average_price, double last_price,
	                                      double *out, QuantError *err);
	/* quant::position_after: avg_price NaN when flat. */
	QuantStatus quant_position_after(double qty, double average_price, double delta, double price,
	                                 double *new_qty, double *new_avg_price, double *realized,
	                                 QuantError *err);
	/* The normalised risk_limits (defaults filled) of a risk_limits JSON text, as JSON text
	 * (malloc'd, free with quant_free). */
	QuantStatus quant_risk_limits_json(const char *json, size_t len, char **json_out, size_t *len_out,
	                                   QuantError *err);

#ifdef __cplusplus
}
#endif

#endif /* QUANT_BRIDGE_H */
