/*
 * Bars reach the engine straight from md.bar through cached SPI plans (no array_agg round trip),
 * and stay in a small per-backend cache keyed by the (ticker, interval) row in md.bar_version, which
 * a statement trigger on md.bar bumps in the same transaction as any change to those bars.
 * Under any snapshot, the same (version, xmin) of that row means the same committed bars, so a
 * hit is exact; bars changed by the current, uncommitted transaction are never cached. A backtest
 * then costs the engine's time, not an index scan of every bar.
 */
#include "quant_pg.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define BAR_CACHE_ENTRIES 256 /* slots; quant.bar_cache_size bounds the memory */
#define BAR_CACHE_MAX_BARS 5000000

typedef struct BarCacheEntry
{
	MemoryContext mcxt; /* owns everything below; NULL = free slot */
	char *ticker;
	char *interval;
	int64 version;
	TransactionId xmin;
	uint64 last_used;
	QuantBars bars;
} BarCacheEntry;

/* In TopMemoryContext (via each entry's own context): it must outlive queries. */
static BarCacheEntry bar_cache[BAR_CACHE_ENTRIES];
static uint64 bar_cache_clock = 0;

/* The bound (issue 16): quant.bar_cache_size in kB, the columns of every entry together (six
 * 8-byte columns per bar); 0 turns the cache off. And what it did, for quant.bar_cache_stats(). */
static int bar_cache_size_kb = 262144;
static int64 bar_cache_hits = 0;
static int64 bar_cache_misses = 0;
static int64 bar_cache_evictions = 0;

#define BAR_ENTRY_BYTES(n) ((int64) (n) *6 * (int64) sizeof(double))

static int64
bar_cache_bytes(void)
{
	int64 total = 0;
	int i;

	for (i = 0; i < BAR_CACHE_ENTRIES; i++)
		if (bar_cache[i].mcxt != NULL)
			total += BAR_ENTRY_BYTES(bar_cache[i].bars.n);
	return total;
}

static void
bar_cache_evict(BarCacheEntry *e)
{
	MemoryContextDelete(e->mcxt);
	memset(e, 0, sizeof(*e));
	bar_cache_evictions++;
}

void
quant_bar_cache_init(void)
{
	DefineCustomIntVariable(
	    "quant.bar_cache_size",
	    "The most memory one backend's bar cache holds (the bars of every cached ticker and "
	    "interval together); 0 turns it off.",
	    "Least recently used entries are dropped to make room; a series larger than this is "
	    "read from md.bar on every call. quant.bar_cache_stats() shows what it holds.",
	    &bar_cache_size_kb, 262144, 0, INT_MAX / 2, PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

static SPIPlanPtr bars_plan = NULL;
static SPIPlanPtr version_plan = NULL;
/* Whether the plans were made for md.bar with its interval column (0.2.0) or without (0.1.0, whose
 * bars are all daily): between installing this library and ALTER EXTENSION quant UPDATE the old
 * tables are still there. -1: no plans yet. */
static int plans_with_interval = -1;

static const char *bars_sql = "SELECT ts, open, high, low, close, volume FROM md.bar"
                              " WHERE ticker OPERATOR(pg_catalog.=) $1 AND interval OPERATOR(pg_catalog.=) $2"
                              " ORDER BY ts";
static const char *version_sql =
    "SELECT version, xmin FROM md.bar_version WHERE ticker OPERATOR(pg_catalog.=) $1"
    " AND interval OPERATOR(pg_catalog.=) $2";
static const char *bars_sql_daily =
    "SELECT ts, open, high, low, close, volume FROM md.bar"
    " WHERE ticker OPERATOR(pg_catalog.=) $1 AND $2 OPERATOR(pg_catalog.=) '1d'"
    " ORDER BY ts";
static const char *version_sql_daily =
    "SELECT version, xmin FROM md.bar_version"
    " WHERE ticker OPERATOR(pg_catalog.=) $1 AND $2 OPERATOR(pg_catalog.=) '1d'";

/* md.bar_version has its interval column (a syscache look-up, cheap enough for every call). */
static int
schema_has_interval(void)
{
	Oid nsp = get_namespace_oid("md", true);
	Oid rel = OidIsValid(nsp) ? get_relname_relid("bar_version", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "interval") != InvalidAttrNumber ? 1 : 0;
}

/* Drops the plans made for the other layout of md.bar (see plans_with_interval). */
static void
check_plans(void)
{
	int now = schema_has_interval();

	if (plans_with_interval == now)
		return;
	if (bars_plan != NULL)
		SPI_freeplan(bars_plan);
	if (version_plan != NULL)
		SPI_freeplan(version_plan);
	bars_plan = version_plan = NULL;
	plans_with_interval = now;
}

static SPIPlanPtr
kept_plan(SPIPlanPtr *slot, const char *sql)
{
	if (*slot == NULL)
	{
		Oid types[2] = {TEXTOID, TEXTOID};
		SPIPlanPtr plan = SPI_prepare(sql, 2, types);

		if (plan == NULL)
			elog(ERROR, "quant: cannot prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

static double
column_value(HeapTuple tup, TupleDesc desc, int col)
{
	bool isnull;
	Datum d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NAN : DatumGetFloat8(d);
}

/* Reads every bar of the ticker in the interval into arrays allocated in mcxt. Must run inside SPI. */
static void
read_bars(const char *ticker, const char *interval, MemoryContext mcxt, QuantBars *out)
{
	Datum values[2] = {CStringGetTextDatum(ticker), CStringGetTextDatum(interval)};
	SPIPlanPtr plan = kept_plan(&bars_plan, plans_with_interval ? bars_sql : bars_sql_daily);
	/* JIT off for this read (planned with it off, so neither its generic nor a custom plan is
	 * compiled): it returns one product's bars by the key, yet at 100M rows in md.bar the planner's
	 * estimate passes jit_above_cost, and compiling it (loading LLVM into a new backend first)
	 * took 30-50 ms against 1 ms for the read itself (issue 17, bench/README.md). */
	int guc_level = NewGUCNestLevel();
	int rc;
	uint64 n, i;
	int64 *ts;
	double *open, *high, *low, *close, *volume;

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_plan(plan, values, NULL, true, 0);
	AtEOXact_GUC(true, guc_level);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "quant: reading md.bar failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	if (n > (uint64) (MaxAllocSize / sizeof(double)) - 1)
		ereport(ERROR,
		        (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		         errmsg("quant: ticker \"%s\" has too many bars (%llu)", ticker, (unsigned long long) n)));
	ts = MemoryContextAlloc(mcxt, sizeof(int64) * (n + 1));
	open = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	high = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	low = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	close = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	volume = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple tup = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;

		ts[i] = QUANT_TO_UNIX_US(DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull)));
		open[i] = column_value(tup, desc, 2);
		high[i] = column_value(tup, desc, 3);
		low[i] = column_value(tup, desc, 4);
		close[i] = column_value(tup, desc, 5);
		volume[i] = column_value(tup, desc, 6);
	}
	out->ts = ts;
	out->open = open;
	out->high = high;
	out->low = low;
	out->close = close;
	out->volume = volume;
	out->n = (size_t) n;
}

/* The bar version of (ticker, interval) as this snapshot sees it; false when it has none. */
static bool
read_version(const char *ticker, const char *interval, int64 *version, TransactionId *xmin)
{
	Datum values[2] = {CStringGetTextDatum(ticker), CStringGetTextDatum(interval)};
	int rc = SPI_execute_plan(kept_plan(&version_plan, plans_with_interval ? version_sql : version_sql_daily),
	                          values, NULL, true, 1);
	bool isnull;

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "quant: reading md.bar_version failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	*version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/* The least recently used entry not used after `pinned_after` (those hold bars the current call
 * still points to); NULL when every entry is free or pinned. */
static BarCacheEntry *
lru_unpinned(uint64 pinned_after)
{
	BarCacheEntry *victim = NULL;
	int i;

	for (i = 0; i < BAR_CACHE_ENTRIES; i++)
		if (bar_cache[i].mcxt != NULL && bar_cache[i].last_used <= pinned_after &&
		    (victim == NULL || bar_cache[i].last_used < victim->last_used))
			victim = &bar_cache[i];
	return victim;
}

/* A free slot with room for `n` bars under quant.bar_cache_size, evicting least recently used
 * unpinned entries as needed; NULL when the bars cannot be kept (beyond the bound, or pinned
 * entries fill it). */
static BarCacheEntry *
cache_slot_for_insert(uint64 pinned_after, size_t n)
{
	const int64 limit = (int64) bar_cache_size_kb * 1024;
	const int64 need = BAR_ENTRY_BYTES(n);
	int i;

	if (need > limit)
		return NULL;
	while (bar_cache_bytes() + need > limit)
	{
		BarCacheEntry *victim = lru_unpinned(pinned_after);

		if (victim == NULL)
			return NULL;
		bar_cache_evict(victim);
	}
	for (i = 0; i < BAR_CACHE_ENTRIES; i++)
		if (bar_cache[i].mcxt == NULL)
			return &bar_cache[i];
	{
		BarCacheEntry *victim = lru_unpinned(pinned_after);

		if (victim == NULL)
			return NULL;
		bar_cache_evict(victim);
		return victim;
	}
}

/* Every bar of the ticker in the interval, from the cache or md.bar (then cached if it may be). Must
 * run inside SPI. Entries used after `pinned_after` are not evicted: the caller still points into
 * them. */
static void
all_bars(FunctionCallInfo fcinfo, const char *ticker, const char *interval, uint64 pinned_after,
         QuantBars *all)
{
	BarCacheEntry *hit = NULL;
	int64 version = 0;
	TransactionId xmin = InvalidTransactionId;
	bool cacheable;
	int i;

	/* a bound lowered since (SET quant.bar_cache_size) holds from the next call on */
	while (bar_cache_bytes() > (int64) bar_cache_size_kb * 1024)
	{
		BarCacheEntry *victim = lru_unpinned(pinned_after);

		if (victim == NULL)
			break;
		bar_cache_evict(victim);
	}
	check_plans();
	cacheable = read_version(ticker, interval, &version, &xmin) && !TransactionIdIsCurrentTransactionId(xmin);
	for (i = 0; cacheable && i < BAR_CACHE_ENTRIES; i++)
	{
		BarCacheEntry *e = &bar_cache[i];

		if (e->mcxt != NULL && e->version == version && e->xmin == xmin && strcmp(e->ticker, ticker) == 0 &&
		    strcmp(e->interval, interval) == 0)
		{
			hit = e;
			break;
		}
	}
	if (hit != NULL)
	{
		*all = hit->bars;
		bar_cache_hits++;
	}
	else
	{
		bar_cache_misses++;
		/* Read into the caller's context first; keep a copy only once it is complete. */
		read_bars(ticker, interval, fcinfo->flinfo->fn_mcxt, all);
		if (cacheable && all->n > 0 && all->n <= BAR_CACHE_MAX_BARS)
		{
			BarCacheEntry *e = cache_slot_for_insert(pinned_after, all->n);

			if (e != NULL)
			{
				MemoryContext mcxt =
				    AllocSetContextCreate(TopMemoryContext, "quant bar cache", ALLOCSET_DEFAULT_SIZES);
				size_t bytes = sizeof(double) * all->n;
				int64 *ts = MemoryContextAlloc(mcxt, bytes);
				double *cols[5];
				const double *src[5] = {all->open, all->high, all->low, all->close, all->volume};
				int c;

				memcpy(ts, all->ts, bytes);
				for (c = 0; c < 5; c++)
				{
					cols[c] = MemoryContextAlloc(mcxt, bytes);
					memcpy(cols[c], src[c], bytes);
				}
				e->ticker = MemoryContextStrdup(mcxt, ticker);
				e->interval = MemoryContextStrdup(mcxt, interval);
				e->version = version;
				e->xmin = xmin;
				e->bars.ts = ts;
				e->bars.open = cols[0];
				e->bars.high = cols[1];
				e->bars.low = cols[2];
				e->bars.close = cols[3];
				e->bars.volume = cols[4];
				e->bars.n = all->n;
				e->mcxt = mcxt; /* last: the slot is valid from here on */
				hit = e;
			}
		}
	}
	if (hit != NULL)
		hit->last_used = ++bar_cache_clock;
}

/* The first index i with ts[i] >= key. */
static size_t
lower_bound(const int64 *ts, size_t n, int64 key)
{
	size_t lo = 0, hi = n;

	while (lo < hi)
	{
		size_t mid = lo + (hi - lo) / 2;

		if (ts[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A range bound as Unix microseconds; +/-infinity saturate. `after` gives the first instant past it
 * (for the inclusive upper bound). */
static int64
unix_us_bound(TimestampTz ts, bool after)
{
	if (TIMESTAMP_IS_NOBEGIN(ts))
		return PG_INT64_MIN;
	if (TIMESTAMP_IS_NOEND(ts))
		return PG_INT64_MAX;
	return QUANT_TO_UNIX_US(ts) + (after ? 1 : 0);
}

/* The bars of `all` in [from_ts, to_ts] (argument numbers; -1 or NULL = open); none is an ERROR. */
static void
cut_range(FunctionCallInfo fcinfo, const char *fn, const char *ticker, const char *interval,
          const QuantBars *all, int from_argno, int to_argno, QuantBars *out)
{
	bool has_from = from_argno >= 0 && !PG_ARGISNULL(from_argno);
	bool has_to = to_argno >= 0 && !PG_ARGISNULL(to_argno);
	size_t first, last;

	first =
	    has_from ? lower_bound(all->ts, all->n, unix_us_bound(PG_GETARG_TIMESTAMPTZ(from_argno), false)) : 0;
	last =
	    has_to ? lower_bound(all->ts, all->n, unix_us_bound(PG_GETARG_TIMESTAMPTZ(to_argno), true)) : all->n;
	if (last < first)
		last = first;
	out->ts = all->ts + first;
	out->open = all->open + first;
	out->high = all->high + first;
	out->low = all->low + first;
	out->close = all->close + first;
	out->volume = all->volume + first;
	out->n = last - first;
	if (out->n == 0)
		ereport(ERROR,
		        (errcode(quant_sqlstate_of(QUANT_NO_DATA)),
		         errmsg("%s: ticker \"%s\" has no bars in md.bar in the requested range (interval %s)", fn,
		                ticker, interval),
		         errhint("load bars with quant.load_bars_csv(ticker, path, interval), quant.upload_bars or "
		                 "COPY into md.bar"),
		         err_generic_string(PG_DIAG_COLUMN_NAME, "ticker")));
}

void
quant_load_bars(FunctionCallInfo fcinfo, const char *fn, const char *ticker, const char *interval,
                int from_argno, int to_argno, QuantBars *out)
{
	QuantBars all;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "quant: SPI_connect failed");
	all_bars(fcinfo, ticker, interval, bar_cache_clock, &all);
	SPI_finish();
	cut_range(fcinfo, fn, ticker, interval, &all, from_argno, to_argno, out);
}

void
quant_load_strategy_bars(FunctionCallInfo fcinfo, const char *fn, const QuantStrategy *strategy,
                         int from_argno, int to_argno, QuantStrategyBars *out)
{
	int count = quant_strategy_product_count(strategy);
	QuantBars *products = palloc0(sizeof(QuantBars) * (count + 1));
	uint64 pinned_after = bar_cache_clock; /* every entry this call uses stays until it returns */
	const char *interval = quant_strategy_interval(strategy);
	QuantBars all;
	int i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "quant: SPI_connect failed");
	all_bars(fcinfo, quant_strategy_ticker(strategy), interval, pinned_after, &all);
	/* A factor product's bars over all of its history: as-of alignment may reach before from_ts,
	 * and alignment never takes a bar after the trading bar's time. None: the core's error. */
	for (i = 0; i < count; i++)
		all_bars(fcinfo, quant_strategy_product(strategy, i), interval, pinned_after, &products[i]);
	SPI_finish();
	cut_range(fcinfo, fn, quant_strategy_ticker(strategy), interval, &all, from_argno, to_argno,
	          &out->trading);
	out->products = products;
}

/* quant.bar_cache_stats(): this backend's bar cache (issue 16). */
PG_FUNCTION_INFO_V1(quant_bar_cache_stats);
Datum
quant_bar_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc tupdesc;
	Datum values[8];
	bool nulls[8] = {false};
	int entries = 0;
	int64 bars = 0;
	int i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("quant.bar_cache_stats: a record is expected")));
	for (i = 0; i < BAR_CACHE_ENTRIES; i++)
		if (bar_cache[i].mcxt != NULL)
		{
			entries++;
			bars += (int64) bar_cache[i].bars.n;
		}
	values[0] = Int32GetDatum(entries);
	values[1] = Int32GetDatum(BAR_CACHE_ENTRIES);
	values[2] = Int64GetDatum(bars);
	values[3] = Int64GetDatum(bar_cache_bytes());
	values[4] = Int64GetDatum((int64) bar_cache_size_kb * 1024);
	values[5] = Int64GetDatum(bar_cache_hits);
	values[6] = Int64GetDatum(bar_cache_misses);
	values[7] = Int64GetDatum(bar_cache_evictions);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
