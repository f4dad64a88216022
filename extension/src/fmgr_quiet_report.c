/*
 * Reports (WARNING or ERROR) of calls that may carry a trade password. PL/pgSQL's RAISE logs
 * the statement that failed (log_min_error_statement), and a psql caller's statement text holds
 * the password as a literal; these reports keep the statement and the context out of the server
 * log (errhidestmt, errhidecontext). The client still gets every field.
 */
#include "quant_pg.h"

#include "utils/builtins.h"

/* The text argument, or NULL when it is NULL or empty. */
static char *
opt_text(FunctionCallInfo fcinfo, int argno)
{
	char *s;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	return s[0] ? s : NULL;
}

/* trade.quiet_report(level, sqlstate, message, detail, hint, column_name, constraint_name,
 * table_name, schema_name): level WARNING returns, level ERROR raises. */
PG_FUNCTION_INFO_V1(quant_quiet_report);
Datum
quant_quiet_report(PG_FUNCTION_ARGS)
{
	const char *level = opt_text(fcinfo, 0);
	const char *state = opt_text(fcinfo, 1);
	const char *message = opt_text(fcinfo, 2);
	const char *detail = opt_text(fcinfo, 3);
	const char *hint = opt_text(fcinfo, 4);
	const char *column = opt_text(fcinfo, 5);
	const char *constraint = opt_text(fcinfo, 6);
	const char *table = opt_text(fcinfo, 7);
	const char *schema = opt_text(fcinfo, 8);
	int elevel = (level && pg_strcasecmp(level, "WARNING") == 0) ? WARNING : ERROR;
	int code = ERRCODE_INTERNAL_ERROR;

	if (state && strlen(state) == 5)
		code = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	else if (elevel == WARNING)
		code = ERRCODE_WARNING;
	ereport(elevel, (errcode(code), errmsg_internal("%s", message ? message : "(no message)"),
	                 detail ? errdetail_internal("%s", detail) : 0, hint ? errhint("%s", hint) : 0,
	                 column ? err_generic_string(PG_DIAG_COLUMN_NAME, column) : 0,
	                 constraint ? err_generic_string(PG_DIAG_CONSTRAINT_NAME, constraint) : 0,
	                 table ? err_generic_string(PG_DIAG_TABLE_NAME, table) : 0,
	                 schema ? err_generic_string(PG_DIAG_SCHEMA_NAME, schema) : 0, errhidestmt(true),
	                 errhidecontext(true)));
	PG_RETURN_VOID();
}
