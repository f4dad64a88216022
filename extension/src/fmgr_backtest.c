/* quant.backtest and quant.backtest_series over md.bar. */
#include "quant_pg.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

static void
load_strategy_bars(FunctionCallInfo fcinfo, const char *fn, QuantStrategy *strategy, QuantStrategyBars *bars)
{
	quant_load_strategy_bars(fcinfo, fn, strategy, 2, 3, bars);
}

PG_FUNCTION_INFO_V1(quant_backtest);
Datum
quant_backtest(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.backtest";
	QuantStrategy *strategy = quant_strategy_arg(fcinfo, 0, fn);
	double fee = quant_fee_arg(fcinfo, 1, fn);
	QuantStrategyBars bars;
	QuantError err;
	char *json;
	size_t len;
	Datum result;

	load_strategy_bars(fcinfo, fn, strategy, &bars);
	if (quant_run_backtest_json(strategy, &bars, fee, QUANT_TO_UNIX_US(GetCurrentTransactionStartTimestamp()),
	                            &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(quant_evaluate_config);
Datum
quant_evaluate_config(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.evaluate_config";
	QuantStrategy *strategy = quant_strategy_arg(fcinfo, 0, fn);
	QuantStrategyBars bars;
	QuantError err;
	char *json;
	size_t len;

	/* the live signal sees every bar up to to_ts (NULL: the latest) */
	quant_load_strategy_bars(fcinfo, fn, strategy, -1, 1, &bars);
	if (quant_run_evaluate_json(strategy, &bars, &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

PG_FUNCTION_INFO_V1(quant_backtest_series);
Datum
quant_backtest_series(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.backtest_series";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QuantStrategy *strategy = quant_strategy_arg(fcinfo, 0, fn);
	double fee = quant_fee_arg(fcinfo, 1, fn);
	QuantStrategyBars bars;
	QuantError err;
	QuantSeriesOut out;
	size_t n, i;
	int k = quant_strategy_substrategy_count(strategy), j;
	double *ind_row = palloc(sizeof(double) * k);
	double *pos_row = palloc(sizeof(double) * k);

	load_strategy_bars(fcinfo, fn, strategy, &bars);
	n = bars.trading.n;
	out.price = palloc(sizeof(double) * n);
	out.position = palloc(sizeof(double) * n);
	out.pnl = palloc(sizeof(double) * n);
	out.cumulative = palloc(sizeof(double) * n);
	out.drawdown = palloc(sizeof(double) * n);
	out.buy_hold_cumulative = palloc(sizeof(double) * n);
	out.buy_hold_drawdown = palloc(sizeof(double) * n);
	out.indicator = palloc(sizeof(double) * n * k);
	out.substrategy_position = palloc(sizeof(double) * n * k);
	if (quant_run_backtest_series(strategy, &bars, fee, &out, &err) != QUANT_OK)
		quant_report(&err, fn);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		double cols[7] = {out.price[i],
		                  out.position[i],
		                  out.pnl[i],
		                  out.cumulative[i],
		                  out.drawdown[i],
		                  out.buy_hold_cumulative[i],
		                  out.buy_hold_drawdown[i]};
		Datum row[10];
		bool nulls[10];
		int c;

		row[0] = TimestampTzGetDatum(QUANT_FROM_UNIX_US(bars.trading.ts[i]));
		nulls[0] = false;
		for (c = 0; c < 7; c++)
		{
			row[c + 1] = Float8GetDatum(cols[c]);
			nulls[c + 1] = isnan(cols[c]);
		}
		for (j = 0; j < k; j++)
		{
			ind_row[j] = out.indicator[(size_t) j * n + i];
			pos_row[j] = out.substrategy_position[(size_t) j * n + i];
		}
		row[8] = quant_float8_array(ind_row, k);
		row[9] = quant_float8_array(pos_row, k);
		nulls[8] = nulls[9] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}
