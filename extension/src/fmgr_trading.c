/*
 * The live loop's rules for SQL, each the core's own (core/include/quant/live_rules.hpp,
 * trading.hpp): the stop loss, the stale-bar limit, the unrealised loss, the signed-position
 * arithmetic and the risk-limit defaults, so the SQL of the live loop decides exactly as the
 * core (and the worker) does.
 */
#include "quant_pg.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(quant_stop_loss_triggered_sql);
Datum
quant_stop_loss_triggered_sql(PG_FUNCTION_ARGS)
{
	/* STRICT: never called with a NULL argument */
	double position = PG_GETARG_FLOAT8(0);
	double average_price = PG_GETARG_FLOAT8(1);
	double last_price = PG_GETARG_FLOAT8(2);
	double stop_loss_pct = PG_GETARG_FLOAT8(3);
	int triggered = 0;
	QuantError err;

	if (quant_stop_loss_triggered(position, average_price, last_price, stop_loss_pct, &triggered, &err) !=
	    QUANT_OK)
		quant_report(&err, "quant.stop_loss_triggered");
	PG_RETURN_BOOL(triggered != 0);
}

/* quant.max_bar_age_hours(risk_limits jsonb, schedule text, paper boolean): NULL when the check is off. */
PG_FUNCTION_INFO_V1(quant_max_bar_age_hours_sql);
Datum
quant_max_bar_age_hours_sql(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.max_bar_age_hours";
	char *limits = NULL;
	char *schedule;
	double hours;
	QuantError err;

	quant_require_arg(fcinfo, 1, fn, "schedule");
	quant_require_arg(fcinfo, 2, fn, "paper");
	if (!PG_ARGISNULL(0))
	{
		Jsonb *jb = PG_GETARG_JSONB_P(0);

		limits = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	schedule = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (quant_max_bar_age_hours(limits, limits ? strlen(limits) : 0, schedule, PG_GETARG_BOOL(2), &hours,
	                            &err) != QUANT_OK)
		quant_report(&err, fn);
	if (isnan(hours))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(hours);
}

/* quant.bar_is_stale(bar_ts, at, max_age_hours): STRICT. */
PG_FUNCTION_INFO_V1(quant_bar_is_stale_sql);
Datum
quant_bar_is_stale_sql(PG_FUNCTION_ARGS)
{
	int stale = 0;
	QuantError err;

	if (quant_bar_is_stale(QUANT_TO_UNIX_US(PG_GETARG_TIMESTAMPTZ(0)),
	                       QUANT_TO_UNIX_US(PG_GETARG_TIMESTAMPTZ(1)), PG_GETARG_FLOAT8(2), &stale,
	                       &err) != QUANT_OK)
		quant_report(&err, "quant.bar_is_stale");
	PG_RETURN_BOOL(stale != 0);
}

/* quant.check_schedule_interval(schedule, interval): a deployment's schedule must fit its
 * strategy's bar interval (the core's rule); ERROR 22023 naming schedule otherwise. */
PG_FUNCTION_INFO_V1(quant_check_schedule_interval_sql);
Datum
quant_check_schedule_interval_sql(PG_FUNCTION_ARGS)
{
	const char *fn = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? text_to_cstring(PG_GETARG_TEXT_PP(2))
	                                                    : "quant.check_schedule_interval";
	QuantError err;

	quant_require_arg(fcinfo, 0, fn, "schedule");
	quant_require_arg(fcinfo, 1, fn, "interval");
	if (quant_check_schedule_interval(text_to_cstring(PG_GETARG_TEXT_PP(0)),
	                                  text_to_cstring(PG_GETARG_TEXT_PP(1)), &err) != QUANT_OK)
		quant_report(&err, fn);
	PG_RETURN_VOID();
}

/* quant.unrealised_loss_pct(position, average_price, last_price): STRICT; NULL when undefined. */
PG_FUNCTION_INFO_V1(quant_unrealised_loss_pct_sql);
Datum
quant_unrealised_loss_pct_sql(PG_FUNCTION_ARGS)
{
	double loss;
	QuantError err;

	if (quant_unrealised_loss_pct(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), &loss,
	                              &err) != QUANT_OK)
		quant_report(&err, "quant.unrealised_loss_pct");
	if (isnan(loss))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(loss);
}

static double
numeric_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return 0.0;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, PG_GETARG_DATUM(argno)));
}

/*
 * quant.position_after(qty, avg_price, delta, price) -> (new_qty, new_avg_price, realized), all
 * numeric: the books are numeric, the core's arithmetic is double (as the worker's); a NULL
 * position (none yet) is flat.
 */
PG_FUNCTION_INFO_V1(quant_position_after_sql);
Datum
quant_position_after_sql(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.position_after";
	TupleDesc desc;
	Datum row[3];
	bool nulls[3] = {0};
	double qty, avg, realized;
	QuantError err;

	quant_require_arg(fcinfo, 2, fn, "delta");
	quant_require_arg(fcinfo, 3, fn, "price");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("%s: must return a record", fn)));
	if (quant_position_after(numeric_arg(fcinfo, 0), numeric_arg(fcinfo, 1), numeric_arg(fcinfo, 2),
	                         numeric_arg(fcinfo, 3), &qty, &avg, &realized, &err) != QUANT_OK)
		quant_report(&err, fn);
	row[0] = DirectFunctionCall1(float8_numeric, Float8GetDatum(qty));
	if (isnan(avg))
		nulls[1] = true;
	else
		row[1] = DirectFunctionCall1(float8_numeric, Float8GetDatum(avg));
	row[2] = DirectFunctionCall1(float8_numeric, Float8GetDatum(realized));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), row, nulls)));
}

/* quant.risk_limits(risk_limits jsonb): STRICT; the normalised limits with the core's defaults. */
PG_FUNCTION_INFO_V1(quant_risk_limits_sql);
Datum
quant_risk_limits_sql(PG_FUNCTION_ARGS)
{
	Jsonb *jb = PG_GETARG_JSONB_P(0);
	char *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	char *json;
	size_t len;
	QuantError err;

	if (quant_risk_limits_json(text, strlen(text), &json, &len, &err) != QUANT_OK)
		quant_report(&err, "quant.risk_limits");
	quant_own(json, quant_free);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}
