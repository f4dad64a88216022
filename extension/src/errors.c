/*
 * The one place where core errors become SQLSTATEs: one state per core error code, so SQL tells
 * them apart by SQLSTATE, never by message text. The quant-specific ones are class QA (README.md,
 * "SQLSTATEs"); the others keep PostgreSQL's meaning.
 */
#include "quant_pg.h"

#include "miscadmin.h"

/* No bars for the ticker (in the range). Not P0002: plpgsql's own not-found is that. */
#define QUANT_SQLSTATE_NO_BARS MAKE_SQLSTATE('Q', 'A', '0', '0', '1')
/* Fewer bars than the strategy's windows need. */
#define QUANT_SQLSTATE_INSUFFICIENT_BARS MAKE_SQLSTATE('Q', 'A', '0', '0', '2')
/* A bad argument of a call that is not a config field (indicator, window, objective, top_n...). */
#define QUANT_SQLSTATE_INVALID_ARGUMENT MAKE_SQLSTATE('Q', 'A', '0', '0', '3')

int
quant_sqlstate_of(QuantStatus status)
{
	switch (status)
	{
		case QUANT_INVALID_CONFIG:
			return ERRCODE_INVALID_PARAMETER_VALUE; /* 22023 */
		case QUANT_INVALID_ARGUMENT:
			return QUANT_SQLSTATE_INVALID_ARGUMENT;
		case QUANT_MALFORMED_JSON:
			return ERRCODE_INVALID_TEXT_REPRESENTATION; /* 22P02 */
		case QUANT_LIMIT_EXCEEDED:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED; /* 54000 */
		case QUANT_NO_DATA:
			return QUANT_SQLSTATE_NO_BARS;
		case QUANT_INSUFFICIENT_DATA:
			return QUANT_SQLSTATE_INSUFFICIENT_BARS;
		case QUANT_CANCELLED:
			return ERRCODE_QUERY_CANCELED; /* 57014 */
		case QUANT_OUT_OF_MEMORY:
			return ERRCODE_OUT_OF_MEMORY; /* 53200 */
		case QUANT_OK:
		case QUANT_INTERNAL:
			break;
	}
	return ERRCODE_INTERNAL_ERROR; /* XX000: a bug */
}

void
quant_report(const QuantError *err, const char *fn)
{
	if (err->status == QUANT_CANCELLED)
		CHECK_FOR_INTERRUPTS(); /* raises the cancel or termination that stopped the engine */
	ereport(ERROR, (errcode(quant_sqlstate_of(err->status)), errmsg("%s: %s", fn, err->message),
	                err->hint[0] ? errhint("%s", err->hint) : 0,
	                err->field[0] ? err_generic_string(PG_DIAG_COLUMN_NAME, err->field) : 0));
	pg_unreachable();
}

typedef struct Owned
{
	MemoryContextCallback cb;
	void *p;
	void (*free_fn)(void *);
} Owned;

static void
free_owned(void *arg)
{
	Owned *o = (Owned *) arg;

	if (o->p)
		o->free_fn(o->p);
	o->p = NULL;
}

void
quant_own(void *p, void (*free_fn)(void *))
{
	Owned *o = palloc(sizeof(Owned));

	o->p = p;
	o->free_fn = free_fn;
	o->cb.func = free_owned;
	o->cb.arg = o;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &o->cb);
}

void
quant_require_arg(FunctionCallInfo fcinfo, int argno, const char *fn, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
		        (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s: %s must not be NULL", fn, argname),
		         err_generic_string(PG_DIAG_COLUMN_NAME, argname)));
}
