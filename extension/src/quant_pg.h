/*
 * Shared by the fmgr wrappers (C, Postgres side): error reporting, ownership of bridge
 * memory, argument checks, float8[] results and bar loading.
 */
#ifndef QUANT_PG_H
#define QUANT_PG_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"

#include "bridge.h"

/* The SQLSTATE of a core error (errors.c: the one map). */
int quant_sqlstate_of(QuantStatus status);

/* Raises the ERROR for a failed bridge call: one SQLSTATE per core error (errors.c). */
void quant_report(const QuantError *err, const char *fn) pg_attribute_noreturn();

/* Frees p with free_fn when the current memory context is reset or deleted, so bridge memory
 * is released even when an ERROR unwinds the call. */
void quant_own(void *p, void (*free_fn)(void *));

/* ERROR 22004 naming the argument when it is NULL. */
void quant_require_arg(FunctionCallInfo fcinfo, int argno, const char *fn, const char *argname);

/* Parses and validates a Strategy JSON argument (jsonb), raising NOTICEs for its warnings.
 * The result is owned by the current memory context. */
QuantStrategy *quant_strategy_arg(FunctionCallInfo fcinfo, int argno, const char *fn);

/* A bar interval argument (text, not NULL): one of the core's catalog, else ERROR 22023 naming
 * the argument with the valid intervals. */
const char *quant_interval_arg(FunctionCallInfo fcinfo, int argno, const char *fn);

/* A fee in basis points: finite, 0..10000. */
double quant_fee_arg(FunctionCallInfo fcinfo, int argno, const char *fn);

/* A float8[] of n values (n may be 0), NaN as a NULL element. */
Datum quant_float8_array(const double *values, int n);

/* The bars of `ticker` in the bar interval `interval` in [from_ts, to_ts] (argument numbers; -1 or
 * NULL = open), in time order, from md.bar through SPI and the per-backend bar cache (bars.c),
 * keyed by (ticker, interval). None is an ERROR QA001 (no bars) naming the ticker, raised here for
 * every caller. */
/* The bar cache's bound, quant.bar_cache_size (bars.c, called from _PG_init). */
void quant_bar_cache_init(void);
void quant_load_bars(FunctionCallInfo fcinfo, const char *fn, const char *ticker, const char *interval,
                     int from_argno, int to_argno, QuantBars *out);
/* The bars a strategy reads, all in its interval (quant_strategy_interval): its ticker's in
 * [from_ts, to_ts] as quant_load_bars, and every bar of each other product its substrategies name
 * (quant_strategy_product; none is the engine's error naming the field). */
void quant_load_strategy_bars(FunctionCallInfo fcinfo, const char *fn, const QuantStrategy *strategy,
                              int from_argno, int to_argno, QuantStrategyBars *out);

/* The Unix-epoch microseconds of a TimestampTz and back. */
#define QUANT_UNIX_EPOCH_OFFSET_US (INT64CONST(946684800) * USECS_PER_SEC)
#define QUANT_TO_UNIX_US(ts) ((int64) (ts) + QUANT_UNIX_EPOCH_OFFSET_US)
#define QUANT_FROM_UNIX_US(us) ((TimestampTz) ((us) -QUANT_UNIX_EPOCH_OFFSET_US))

/* A double as a nullable SQL value: NaN is NULL. */
#define QUANT_IS_NULL_DOUBLE(v) isnan(v)

#endif /* QUANT_PG_H */
