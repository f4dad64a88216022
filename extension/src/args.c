/* Arguments and results shared by several functions: Strategy JSON, fees, float8[] results. */
#include "quant_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

/* The user's pipeline names products (internal_cusip) instead of data tickers: the product
 * catalog is in the database, so SQL resolves them (refdata.resolve_products, which names an
 * unknown product in its error) before the core parses the config. Configs without the key, and
 * stored ones (their ticker is set), are parsed as they are. */
static Jsonb *
resolve_products(Jsonb *jb, const char *fn)
{
	Oid argtypes[2] = {JSONBOID, TEXTOID};
	Oid resolver =
	    LookupFuncName(list_make2(makeString("refdata"), makeString("resolve_products")), 2, argtypes, false);

	return DatumGetJsonbP(OidFunctionCall2(resolver, JsonbPGetDatum(jb), CStringGetTextDatum(fn)));
}

QuantStrategy *
quant_strategy_arg(FunctionCallInfo fcinfo, int argno, const char *fn)
{
	Jsonb *jb;
	char *text;
	QuantStrategy *strategy;
	QuantError err;
	int i;

	quant_require_arg(fcinfo, argno, fn, "config");
	jb = PG_GETARG_JSONB_P(argno);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	if (strstr(text, "\"internal_cusip\"") != NULL)
	{
		pfree(text);
		jb = resolve_products(jb, fn);
		text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	if (quant_strategy_parse(text, strlen(text), &strategy, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(strategy, quant_strategy_free);
	pfree(text);
	for (i = 0; i < quant_strategy_warning_count(strategy); i++)
		ereport(quant_strategy_warning_is_strong(strategy, i) ? WARNING : NOTICE,
		        (errmsg("%s: %s", fn, quant_strategy_warning(strategy, i))));
	return strategy;
}

const char *
quant_interval_arg(FunctionCallInfo fcinfo, int argno, const char *fn)
{
	char *interval;
	QuantError err;

	quant_require_arg(fcinfo, argno, fn, "interval");
	interval = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (quant_bar_interval_check(interval, "interval", &err) != QUANT_OK)
		quant_report(&err, fn);
	return interval;
}

double
quant_fee_arg(FunctionCallInfo fcinfo, int argno, const char *fn)
{
	double fee;

	quant_require_arg(fcinfo, argno, fn, "fee_bps");
	fee = PG_GETARG_FLOAT8(argno);
	if (!isfinite(fee) || fee < 0.0 || fee > 10000.0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("%s: fee_bps must be a finite number between 0 and 10000, got %g", fn, fee),
		                errhint("fees are in basis points: 5 means 0.05%% per unit of position traded"),
		                err_generic_string(PG_DIAG_COLUMN_NAME, "fee_bps")));
	return fee;
}

Datum
quant_float8_array(const double *values, int n)
{
	Datum *elems;
	bool *nulls;
	int dims[1] = {n};
	int lbs[1] = {1};
	int i;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(FLOAT8OID));
	elems = palloc(sizeof(Datum) * n);
	nulls = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		elems[i] = Float8GetDatum(values[i]);
		nulls[i] = QUANT_IS_NULL_DOUBLE(values[i]);
	}
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, FLOAT8OID, sizeof(float8),
	                                          FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
