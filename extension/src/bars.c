/*
 * Bars reach the engine straight from md.bar through one cached SPI plan: no array_agg round
 * trip. The arrays are cached per call site for as long as the query's snapshot is the same,
 * so `SELECT quant.backtest(cfg) FROM many_configs` reads each ticker once.
 */
#include "quant_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

typedef struct BarCache
{
	char	   *ticker;
	bool		has_from,
				has_to;
	TimestampTz from,
				to;
	TransactionId xmin,
				xmax;
	uint32		xcnt;
	CommandId	curcid;
	QuantBars	bars;
} BarCache;

static SPIPlanPtr bars_plan = NULL;

static const char *bars_sql =
	"SELECT ts, open, high, low, close, volume FROM md.bar"
	" WHERE ticker OPERATOR(pg_catalog.=) $1"
	"   AND ts OPERATOR(pg_catalog.>=) COALESCE($2, '-infinity'::pg_catalog.timestamptz)"
	"   AND ts OPERATOR(pg_catalog.<=) COALESCE($3, 'infinity'::pg_catalog.timestamptz)"
	" ORDER BY ts";

static double
column_value(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NAN : DatumGetFloat8(d);
}

static bool
cache_matches(const BarCache *c, const char *ticker, bool has_from, TimestampTz from, bool has_to,
			  TimestampTz to, Snapshot snap)
{
	return c != NULL && strcmp(c->ticker, ticker) == 0 && c->has_from == has_from && c->has_to == has_to &&
		(!has_from || c->from == from) && (!has_to || c->to == to) && snap != NULL &&
		c->xmin == snap->xmin && c->xmax == snap->xmax && c->xcnt == snap->xcnt && c->curcid == snap->curcid;
}

void
quant_load_bars(FunctionCallInfo fcinfo, const char *ticker, int from_argno, int to_argno, QuantBars *out)
{
	bool		has_from = from_argno >= 0 && !PG_ARGISNULL(from_argno);
	bool		has_to = to_argno >= 0 && !PG_ARGISNULL(to_argno);
	TimestampTz from = has_from ? PG_GETARG_TIMESTAMPTZ(from_argno) : 0;
	TimestampTz to = has_to ? PG_GETARG_TIMESTAMPTZ(to_argno) : 0;
	Snapshot	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;
	BarCache   *cache = (BarCache *) fcinfo->flinfo->fn_extra;
	MemoryContext mcxt = fcinfo->flinfo->fn_mcxt;
	Datum		values[3];
	char		nulls[3] = {' ', has_from ? ' ' : 'n', has_to ? ' ' : 'n'};
	uint64		n,
				i;
	int64	   *ts;
	double	   *open,
			   *high,
			   *low,
			   *close,
			   *volume;
	int			rc;

	if (cache_matches(cache, ticker, has_from, from, has_to, to, snap))
	{
		*out = cache->bars;
		return;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "quant: SPI_connect failed");
	if (bars_plan == NULL)
	{
		Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		SPIPlanPtr	plan = SPI_prepare(bars_sql, 3, types);

		if (plan == NULL)
			elog(ERROR, "quant: cannot prepare the bar query: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		bars_plan = plan;
	}
	values[0] = CStringGetTextDatum(ticker);
	values[1] = TimestampTzGetDatum(from);
	values[2] = TimestampTzGetDatum(to);
	rc = SPI_execute_plan(bars_plan, values, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "quant: reading md.bar failed: %s", SPI_result_code_string(rc));

	n = SPI_processed;
	if (n > (uint64) (MaxAllocSize / sizeof(double)))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("quant: ticker \"%s\" has too many bars (%llu)", ticker, (unsigned long long) n)));
	if (cache == NULL)
		cache = MemoryContextAllocZero(mcxt, sizeof(BarCache));
	else
	{
		/* the previous arrays stay until the query ends; replace the cache entry */
		pfree(cache->ticker);
		memset(cache, 0, sizeof(BarCache));
	}
	fcinfo->flinfo->fn_extra = NULL;	/* not valid until filled */
	ts = MemoryContextAlloc(mcxt, sizeof(int64) * (n + 1));
	open = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	high = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	low = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	close = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	volume = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		ts[i] = QUANT_TO_UNIX_US(DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull)));
		open[i] = column_value(tup, desc, 2);
		high[i] = column_value(tup, desc, 3);
		low[i] = column_value(tup, desc, 4);
		close[i] = column_value(tup, desc, 5);
		volume[i] = column_value(tup, desc, 6);
	}
	SPI_finish();

	cache->ticker = MemoryContextStrdup(mcxt, ticker);
	cache->has_from = has_from;
	cache->has_to = has_to;
	cache->from = from;
	cache->to = to;
	if (snap != NULL)
	{
		cache->xmin = snap->xmin;
		cache->xmax = snap->xmax;
		cache->xcnt = snap->xcnt;
		cache->curcid = snap->curcid;
	}
	cache->bars.ts = ts;
	cache->bars.open = open;
	cache->bars.high = high;
	cache->bars.low = low;
	cache->bars.close = close;
	cache->bars.volume = volume;
	cache->bars.n = (size_t) n;
	fcinfo->flinfo->fn_extra = snap != NULL ? cache : NULL;
	*out = cache->bars;
}
