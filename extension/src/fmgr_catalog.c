/* The REFDATA catalog generated from the engine's own registry. */
#include "quant_pg.h"

#include "funcapi.h"
#include "utils/builtins.h"

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
