/* Arguments and results shared by several functions: Strategy JSON, fees, float8[] results. */
#include "quant_pg.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

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

/* The parsed Strategy JSON of the last few distinct configs this backend saw, keyed by the bytes
 * of the jsonb: a live loop or a UI running one strategy again, or a statement calling a function
 * per row with one config, parses and validates it once (issue 16). The same bytes are the same
 * jsonb value, whose text the core parses to the same strategy (it depends on nothing else), so a
 * hit is exact. A config naming products (internal_cusip) is resolved against the catalog on
 * every call and never cached. An entry in use by a call that has not ended (its memory context
 * not yet reset: a nested call through SPI could evict it) is pinned and never evicted. */
#define STRATEGY_CACHE_ENTRIES 16

typedef struct StrategyCacheEntry
{
	Jsonb *key; /* in TopMemoryContext; NULL: a free slot */
	QuantStrategy *strategy;
	uint64 used;
	int pins;
} StrategyCacheEntry;

static StrategyCacheEntry strategy_cache[STRATEGY_CACHE_ENTRIES];
static uint64 strategy_cache_clock = 0;

static void
unpin_strategy(void *arg)
{
	((StrategyCacheEntry *) arg)->pins--;
}

static QuantStrategy *
pinned(StrategyCacheEntry *e)
{
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));

	e->pins++;
	e->used = ++strategy_cache_clock;
	cb->func = unpin_strategy;
	cb->arg = e;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return e->strategy;
}

static StrategyCacheEntry *
cached_strategy(const Jsonb *jb)
{
	int i;

	for (i = 0; i < STRATEGY_CACHE_ENTRIES; i++)
	{
		StrategyCacheEntry *e = &strategy_cache[i];

		if (e->key != NULL && VARSIZE(e->key) == VARSIZE(jb) && memcmp(e->key, jb, VARSIZE(jb)) == 0)
			return e;
	}
	return NULL;
}

/* Keeps `strategy` under a copy of jb in the least recently used unpinned slot; NULL (the caller
 * then owns it) when every slot is pinned. */
static StrategyCacheEntry *
cache_strategy(const Jsonb *jb, QuantStrategy *strategy)
{
	StrategyCacheEntry *slot = NULL;
	int i;

	for (i = 0; i < STRATEGY_CACHE_ENTRIES; i++)
	{
		StrategyCacheEntry *e = &strategy_cache[i];

		if (e->pins == 0 && (slot == NULL || e->key == NULL || (slot->key != NULL && e->used < slot->used)))
			slot = e;
	}
	if (slot == NULL)
		return NULL;
	if (slot->key != NULL)
	{
		quant_strategy_free(slot->strategy);
		pfree(slot->key);
	}
	slot->key = MemoryContextAlloc(TopMemoryContext, VARSIZE(jb));
	memcpy(slot->key, jb, VARSIZE(jb));
	slot->strategy = strategy;
	return slot;
}

QuantStrategy *
quant_strategy_arg(FunctionCallInfo fcinfo, int argno, const char *fn)
{
	Jsonb *jb;
	char *text;
	QuantStrategy *strategy;
	StrategyCacheEntry *entry;
	QuantError err;
	bool products;
	int i;

	quant_require_arg(fcinfo, argno, fn, "config");
	jb = PG_GETARG_JSONB_P(argno);
	entry = cached_strategy(jb);
	if (entry != NULL)
		strategy = pinned(entry);
	else
	{
		text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
		products = strstr(text, "\"internal_cusip\"") != NULL;
		if (products)
		{
			Jsonb *resolved = resolve_products(jb, fn);

			pfree(text);
			text = JsonbToCString(NULL, &resolved->root, VARSIZE(resolved));
		}
		if (quant_strategy_parse(text, strlen(text), &strategy, &err) != QUANT_OK)
			quant_report(&err, fn);
		pfree(text);
		entry = products ? NULL : cache_strategy(jb, strategy);
		if (entry != NULL)
			strategy = pinned(entry);
		else
			quant_own(strategy, quant_strategy_free);
	}
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
