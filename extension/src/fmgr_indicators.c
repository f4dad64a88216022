/* quant.indicator_series and the array forms (quant.sma(double precision[], int), ...). */
#include "quant_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(quant_indicator_series);
Datum
quant_indicator_series(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.indicator_series";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char *ticker, *indicator, *column;
	const char *interval;
	int window;
	QuantBars bars;
	QuantError err;
	double *values;
	size_t i;

	quant_require_arg(fcinfo, 0, fn, "ticker");
	quant_require_arg(fcinfo, 1, fn, "indicator");
	quant_require_arg(fcinfo, 2, fn, "window");
	quant_require_arg(fcinfo, 3, fn, "data_column");
	ticker = text_to_cstring(PG_GETARG_TEXT_PP(0));
	indicator = text_to_cstring(PG_GETARG_TEXT_PP(1));
	window = PG_GETARG_INT32(2);
	column = text_to_cstring(PG_GETARG_TEXT_PP(3));
	interval = quant_interval_arg(fcinfo, 6, fn);

	if (quant_indicator_check(indicator, window, column, 0, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_load_bars(fcinfo, fn, ticker, interval, 4, 5, &bars);
	if (quant_indicator_check(indicator, window, column, bars.n, &err) != QUANT_OK)
		quant_report(&err, fn);

	values = palloc(sizeof(double) * bars.n);
	if (quant_indicator_on_bars(indicator, &bars, column, window, values, &err) != QUANT_OK)
		quant_report(&err, fn);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < bars.n; i++)
	{
		Datum row[2];
		bool nulls[2] = {false, false};

		row[0] = TimestampTzGetDatum(QUANT_FROM_UNIX_US(bars.ts[i]));
		row[1] = Float8GetDatum(values[i]);
		nulls[1] = isnan(values[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

/* A float8[] argument as a C array; NULL elements and multi-dimensional arrays are refused. */
static double *
float8_array_arg(FunctionCallInfo fcinfo, int argno, const char *fn, const char *argname, int *n)
{
	ArrayType *arr;
	Datum *elems;
	bool *nulls;
	double *out;
	int i;

	quant_require_arg(fcinfo, argno, fn, argname);
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		                errmsg("%s: %s must be a one-dimensional array", fn, argname),
		                err_generic_string(PG_DIAG_COLUMN_NAME, argname)));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	out = palloc(sizeof(double) * (*n + 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			                errmsg("%s: %s[%d] is NULL", fn, argname, i + 1),
			                errhint("remove or fill missing values first, e.g. with coalesce()"),
			                err_generic_string(PG_DIAG_COLUMN_NAME, argname)));
		out[i] = DatumGetFloat8(elems[i]);
	}
	return out;
}

/* values[], window -> values[]: undefined bars are NULL; an array shorter than the warm-up is
 * all NULL (ad-hoc use over growing arrays), unlike indicator_series which reports it. */
static Datum
array_indicator(FunctionCallInfo fcinfo, const char *fn, const char *indicator)
{
	int n;
	double *x = float8_array_arg(fcinfo, 0, fn, "x", &n);
	double *out = palloc(sizeof(double) * (n + 1));
	QuantBars bars = {NULL, x, x, x, x, x, (size_t) n};
	QuantError err;

	quant_require_arg(fcinfo, 1, fn, "window");
	if (quant_indicator_check(indicator, PG_GETARG_INT32(1), NULL, 0, &err) != QUANT_OK)
		quant_report(&err, fn);
	if (quant_indicator_on_bars(indicator, &bars, "v", PG_GETARG_INT32(1), out, &err) != QUANT_OK)
		quant_report(&err, fn);
	PG_RETURN_DATUM(quant_float8_array(out, n));
}

#define QUANT_ARRAY_INDICATOR(cname, sqlname, indicator)                                                     \
	PG_FUNCTION_INFO_V1(cname);                                                                              \
	Datum cname(PG_FUNCTION_ARGS)                                                                            \
	{                                                                                                        \
		return array_indicator(fcinfo, sqlname, indicator);                                                  \
	}

QUANT_ARRAY_INDICATOR(quant_sma_array, "quant.sma", "get_sma")
QUANT_ARRAY_INDICATOR(quant_ema_array, "quant.ema", "get_ema")
QUANT_ARRAY_INDICATOR(quant_rsi_array, "quant.rsi", "get_rsi")
QUANT_ARRAY_INDICATOR(quant_rsi_wilder_array, "quant.rsi_wilder", "get_rsi_wilder")
QUANT_ARRAY_INDICATOR(quant_bollinger_array, "quant.bollinger", "get_bollinger_band")
QUANT_ARRAY_INDICATOR(quant_sma_distance_array, "quant.sma_distance", "get_sma_distance")
QUANT_ARRAY_INDICATOR(quant_ema_distance_array, "quant.ema_distance", "get_ema_distance")

PG_FUNCTION_INFO_V1(quant_stochastic_array);
Datum
quant_stochastic_array(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.stochastic";
	int nh, nl, nc;
	double *high = float8_array_arg(fcinfo, 0, fn, "high", &nh);
	double *low = float8_array_arg(fcinfo, 1, fn, "low", &nl);
	double *close = float8_array_arg(fcinfo, 2, fn, "close", &nc);
	double *out;
	QuantBars bars;
	QuantError err;

	quant_require_arg(fcinfo, 3, fn, "window");
	if (nh != nc || nl != nc)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		                errmsg("%s: high, low and close must have the same length, got %d, %d and %d", fn, nh,
		                       nl, nc)));
	if (quant_indicator_check("get_stochastic_oscillator", PG_GETARG_INT32(3), NULL, 0, &err) != QUANT_OK)
		quant_report(&err, fn);
	out = palloc(sizeof(double) * (nc + 1));
	bars.ts = NULL;
	bars.open = close;
	bars.high = high;
	bars.low = low;
	bars.close = close;
	bars.volume = close;
	bars.n = (size_t) nc;
	if (quant_indicator_on_bars("get_stochastic_oscillator", &bars, "v", PG_GETARG_INT32(3), out, &err) !=
	    QUANT_OK)
		quant_report(&err, fn);
	PG_RETURN_DATUM(quant_float8_array(out, nc));
}
