/* Strategy and Deployment JSON normalised through the one core validator. */
#include "quant_pg.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

typedef QuantStatus (*NormalizeFn)(const char *, size_t, char **, size_t *, QuantError *);

static Datum
normalize(FunctionCallInfo fcinfo, const char *fn, NormalizeFn normalize_fn)
{
	Jsonb *jb;
	char *text;
	char *json;
	size_t len;
	QuantError err;

	quant_require_arg(fcinfo, 0, fn, "config");
	jb = PG_GETARG_JSONB_P(0);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	if (normalize_fn(text, strlen(text), &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	pfree(text);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* quant.normalize_strategy(config) and bt.normalize_strategy(config, fn): the validator's
 * warnings (e.g. a price-level indicator with a band signal) are raised as NOTICEs, prefixed
 * with fn (the API function the user called) when given, exactly as quant.backtest does. */
PG_FUNCTION_INFO_V1(quant_normalize_strategy);
Datum
quant_normalize_strategy(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.normalize_strategy";
	QuantStrategy *strategy;
	char *json;
	size_t len;
	QuantError err;

	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
		fn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	strategy = quant_strategy_arg(fcinfo, 0, fn); /* 22004 for NULL, the ERROR of the validator, NOTICEs */
	if (quant_strategy_to_json(strategy, &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

PG_FUNCTION_INFO_V1(quant_normalize_deployment);
Datum
quant_normalize_deployment(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(normalize(fcinfo, "quant.normalize_deployment", quant_deployment_normalize_json));
}

/* quant.parse_json(text): the text of the user's pipeline (Python's json.dumps writes NaN for an
 * undefined metric) as jsonb, which cannot hold NaN: NaN, Infinity and -Infinity become null. */
PG_FUNCTION_INFO_V1(quant_parse_json);
Datum
quant_parse_json(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.parse_json";
	text *in;
	char *json;
	size_t len;
	QuantError err;

	quant_require_arg(fcinfo, 0, fn, "doc");
	in = PG_GETARG_TEXT_PP(0);
	if (quant_json_non_finite_to_null(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}
