/* The module's entry, and the REFDATA catalogs generated from the engine's own tables: the
 * indicator registry, the brokers, markets, schedules and statuses, the config schemas. */
#include "quant_pg.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "auth.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static int
interrupt_pending(void)
{
	return InterruptPending ? 1 : 0;
}

void
_PG_init(void)
{
	quant_set_interrupt_check(interrupt_pending);
	quant_user_context_init();
	quant_api_key_login_init();
	quant_credential_init();
	quant_bar_cache_init();
}

PG_FUNCTION_INFO_V1(quant_indicator_catalog);
Datum
quant_indicator_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < quant_indicator_count(); i++)
	{
		QuantIndicatorInfo e;
		Datum row[12];
		bool nulls[12] = {0};

		quant_indicator_info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = CStringGetTextDatum(e.description);
		row[2] = BoolGetDatum(e.bounded != 0);
		row[3] = BoolGetDatum(e.price_level != 0);
		row[4] = BoolGetDatum(e.reads_hlc != 0);
		row[5] = Int32GetDatum(e.window_floor);
		row[6] = Int32GetDatum((int32) e.window_min);
		row[7] = Int32GetDatum((int32) e.window_max);
		row[8] = Int32GetDatum((int32) e.window_step);
		row[9] = Float8GetDatum(e.signal_min);
		row[10] = Float8GetDatum(e.signal_max);
		row[11] = Float8GetDatum(e.signal_step);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(quant_signal_func_catalog);
Datum
quant_signal_func_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < quant_signal_func_count(); i++)
	{
		QuantSignalFuncInfo e;
		Datum row[5];
		bool nulls[5] = {0};

		quant_signal_func_info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = CStringGetTextDatum(e.description);
		row[2] = CStringGetTextDatum(e.kind);
		row[3] = BoolGetDatum(e.long_only != 0);
		row[4] = BoolGetDatum(e.for_bounded != 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

/* ---- brokers, markets, schedules, signal and order statuses (core/src/catalog.cpp) ---- */

PG_FUNCTION_INFO_V1(quant_broker_catalog);
Datum
quant_broker_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < quant_broker_count(); i++)
	{
		QuantBrokerInfo e;
		Datum row[3];
		bool nulls[3] = {0};

		quant_broker_info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = BoolGetDatum(e.trades_live != 0);
		row[2] = CStringGetTextDatum(e.description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(quant_bar_interval_catalog);
Datum
quant_bar_interval_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < quant_bar_interval_count(); i++)
	{
		QuantBarIntervalInfo e;
		Datum row[6];
		bool nulls[6] = {0};

		quant_bar_interval_info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = Int32GetDatum((int32) e.seconds);
		row[2] = Int32GetDatum((int32) e.offset_seconds);
		row[3] = Int32GetDatum(e.equity_bars_per_year);
		row[4] = Int32GetDatum(e.crypto_bars_per_year);
		row[5] = CStringGetTextDatum(e.description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(quant_market_catalog);
Datum
quant_market_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < quant_market_count(); i++)
	{
		QuantMarketInfo e;
		Datum row[7];
		bool nulls[7] = {0};

		quant_market_info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = DirectFunctionCall3(time_in, CStringGetDatum(e.close_time_utc), ObjectIdGetDatum(InvalidOid),
		                             Int32GetDatum(-1));
		row[2] = CStringGetTextDatum(e.timezone);
		row[3] = DirectFunctionCall3(time_in, CStringGetDatum(e.local_close), ObjectIdGetDatum(InvalidOid),
		                             Int32GetDatum(-1));
		row[4] = CStringGetTextDatum(e.run_cron);
		row[5] = CStringGetTextDatum(e.description);
		row[6] = BoolGetDatum(e.whole_shares != 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(quant_schedule_catalog);
Datum
quant_schedule_catalog(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < quant_schedule_count(); i++)
	{
		QuantScheduleInfo e;
		Datum row[4];
		bool nulls[4] = {0};

		quant_schedule_info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = BoolGetDatum(e.cron != 0);
		row[2] = Float8GetDatum(e.default_max_bar_age_hours);
		row[3] = CStringGetTextDatum(e.description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

static Datum
status_catalog(FunctionCallInfo fcinfo, int (*count)(void), void (*info)(int, QuantStatusInfo *))
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < count(); i++)
	{
		QuantStatusInfo e;
		Datum row[3];
		bool nulls[3] = {0};

		info(i, &e);
		row[0] = CStringGetTextDatum(e.name);
		row[1] = BoolGetDatum(e.terminal != 0);
		row[2] = CStringGetTextDatum(e.description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(quant_signal_status_catalog);
Datum
quant_signal_status_catalog(PG_FUNCTION_ARGS)
{
	return status_catalog(fcinfo, quant_signal_status_count, quant_signal_status_info);
}

PG_FUNCTION_INFO_V1(quant_order_status_catalog);
Datum
quant_order_status_catalog(PG_FUNCTION_ARGS)
{
	return status_catalog(fcinfo, quant_order_status_count, quant_order_status_info);
}

/* ---- the config JSON Schemas (core/src/config_schema.cpp) ---- */

static Datum
config_schema(int deployment, const char *fn)
{
	char *json;
	size_t len;
	QuantError err;

	if (quant_config_schema_json(deployment, &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

PG_FUNCTION_INFO_V1(quant_strategy_config_schema);
Datum
quant_strategy_config_schema(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(config_schema(0, "quant.strategy_config_schema"));
}

PG_FUNCTION_INFO_V1(quant_deployment_config_schema);
Datum
quant_deployment_config_schema(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(config_schema(1, "quant.deployment_config_schema"));
}
