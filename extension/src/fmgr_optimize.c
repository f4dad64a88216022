/* quant.optimize and quant.walk_forward: exhaustive grid searches over md.bar. */
#include "quant_pg.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/jsonb.h"

typedef struct Progress
{
	const char *fn;
	ErrorData *error; /* an ERROR raised while reporting, re-thrown after the search */
} Progress;

/*
 * Called from inside the C++ search (on this thread): a NOTICE every few seconds. Any ERROR it
 * raises is caught here, saved and turned into "stop", so no longjmp crosses the C++ frames; the
 * caller re-throws it once the search has returned.
 */
static int
report_progress(void *ctx, uint64_t done, uint64_t total)
{
	Progress *p = (Progress *) ctx;
	MemoryContext mcxt = CurrentMemoryContext;
	volatile int stop = 0;

	PG_TRY();
	{
		ereport(NOTICE,
		        (errmsg("%s: %llu of %llu cells (%.0f%%)", p->fn, (unsigned long long) done,
		                (unsigned long long) total, total ? 100.0 * (double) done / (double) total : 100.0)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(mcxt);
		p->error = CopyErrorData();
		FlushErrorState();
		stop = 1;
	}
	PG_END_TRY();
	return stop;
}

static char *
grid_arg(FunctionCallInfo fcinfo, int argno, const char *fn, size_t *len)
{
	Jsonb *jb;
	char *text;

	quant_require_arg(fcinfo, argno, fn, "grid");
	jb = PG_GETARG_JSONB_P(argno);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	*len = strlen(text);
	return text;
}

static Datum
finish(const char *fn, QuantStatus status, QuantError *err, Progress *progress, char *json)
{
	if (progress->error != NULL)
		ReThrowError(progress->error);
	if (status != QUANT_OK)
		quant_report(err, fn);
	quant_own(json, quant_free);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* optimize(config, grid, fee_bps, from_ts, to_ts, objective, top_n, include_cells, threads) */
PG_FUNCTION_INFO_V1(quant_optimize);
Datum
quant_optimize(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.optimize";
	QuantStrategy *strategy = quant_strategy_arg(fcinfo, 0, fn);
	size_t grid_len;
	char *grid = grid_arg(fcinfo, 1, fn, &grid_len);
	QuantSearchOptions options;
	Progress progress = {fn, NULL};
	QuantStrategyBars bars;
	QuantError err;
	QuantStatus status;
	char *json = NULL;
	size_t len;

	memset(&options, 0, sizeof(options));
	options.fee_bps = quant_fee_arg(fcinfo, 2, fn);
	quant_require_arg(fcinfo, 5, fn, "objective");
	quant_require_arg(fcinfo, 6, fn, "top_n");
	quant_require_arg(fcinfo, 7, fn, "include_cells");
	quant_require_arg(fcinfo, 8, fn, "threads");
	options.objective = text_to_cstring(PG_GETARG_TEXT_PP(5));
	options.top_n = PG_GETARG_INT32(6);
	options.include_cells = PG_GETARG_BOOL(7);
	options.threads = PG_GETARG_INT32(8);
	options.progress = report_progress;
	options.progress_ctx = &progress;
	quant_load_strategy_bars(fcinfo, fn, strategy, 3, 4, &bars);
	status = quant_run_optimize_json(strategy, grid, grid_len, &bars, &options, &json, &len, &err);
	PG_RETURN_DATUM(finish(fn, status, &err, &progress, json));
}

/* walk_forward(config, grid, split_ratio, fee_bps, from_ts, to_ts, warmup, threads) */
PG_FUNCTION_INFO_V1(quant_walk_forward);
Datum
quant_walk_forward(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.walk_forward";
	QuantStrategy *strategy = quant_strategy_arg(fcinfo, 0, fn);
	size_t grid_len;
	char *grid = grid_arg(fcinfo, 1, fn, &grid_len);
	QuantSearchOptions options;
	Progress progress = {fn, NULL};
	QuantStrategyBars bars;
	QuantError err;
	QuantStatus status;
	char *json = NULL;
	size_t len;

	memset(&options, 0, sizeof(options));
	quant_require_arg(fcinfo, 2, fn, "split_ratio");
	options.split_ratio = PG_GETARG_FLOAT8(2);
	options.fee_bps = quant_fee_arg(fcinfo, 3, fn);
	quant_require_arg(fcinfo, 6, fn, "warmup");
	quant_require_arg(fcinfo, 7, fn, "threads");
	options.warmup = text_to_cstring(PG_GETARG_TEXT_PP(6));
	options.threads = PG_GETARG_INT32(7);
	options.progress = report_progress;
	options.progress_ctx = &progress;
	quant_load_strategy_bars(fcinfo, fn, strategy, 4, 5, &bars);
	status = quant_run_walk_forward_json(strategy, grid, grid_len, &bars, &options, &json, &len, &err);
	PG_RETURN_DATUM(finish(fn, status, &err, &progress, json));
}
