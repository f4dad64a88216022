/*
 * The live loop's rules for SQL: the core's stop-loss rule (quant::stop_loss_triggered), so
 * quant.check_stop_losses (sql/TRADE/stop_loss.sql) decides exactly as the core does.
 */
#include "quant_pg.h"

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
