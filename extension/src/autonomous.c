/*
 * Autonomous transactions: a short-lived background worker runs one fixed statement in a
 * transaction of its own, so that what it writes does not depend on the caller's transaction.
 * - The live gate's failure record: a refused attempt raises an ERROR that rolls the caller
 *   back, yet the failure must count; the caller waits for the record.
 * - An API key's last use: the login must take no row lock that lasts as long as the request,
 *   so the update runs beside it and the login does not wait for it.
 * Dynamic workers need no shared_preload_libraries. The worker connects as the bootstrap
 * superuser (the caller may be a NOLOGIN role such as quant_app), runs only its statement, and
 * has a lock timeout so that it never waits long.
 */
#include "quant_pg.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "auth.h"

#define GATE_USER_LEN 65
#define GATE_REASON_LEN (BGW_EXTRALEN - GATE_USER_LEN)
#define KEY_ID_LEN 37 /* a uuid's text form and its NUL */

PGDLLEXPORT void quant_live_gate_failure_main(Datum arg);
PGDLLEXPORT void quant_api_key_used_main(Datum arg);

/* In the worker: connects to the caller's database and runs sql with text arguments. */
static void
run_statement(Datum database, const char *sql, int nargs, const char *const *args)
{
	Oid types[2] = {TEXTOID, TEXTOID};
	Datum values[2];
	int i;

	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(database), BOOTSTRAP_SUPERUSERID, 0);
	SetConfigOption("lock_timeout", "5000", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("statement_timeout", "10000", PGC_USERSET, PGC_S_SESSION);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "quant autonomous transaction: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	for (i = 0; i < nargs; i++)
		values[i] = CStringGetTextDatum(args[i]);
	if (SPI_execute_with_args(sql, nargs, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "quant autonomous transaction: %s failed", sql);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	proc_exit(0);
}

/* Fills in a worker of this database that runs function_name. */
static void
prepare_worker(BackgroundWorker *worker, const char *function_name, const char *name)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "quant");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function_name);
	snprintf(worker->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", name);
	worker->bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
}

/* ---- the live gate's failure record ---- */
void
quant_live_gate_failure_main(Datum arg)
{
	char user[GATE_USER_LEN];
	char reason[GATE_REASON_LEN];
	const char *args[2] = {user, reason};

	memcpy(user, MyBgworkerEntry->bgw_extra, GATE_USER_LEN);
	user[GATE_USER_LEN - 1] = '\0';
	memcpy(reason, MyBgworkerEntry->bgw_extra + GATE_USER_LEN, GATE_REASON_LEN);
	reason[GATE_REASON_LEN - 1] = '\0';
	run_statement(arg, "SELECT trade.record_live_gate_failure($1, $2)", 2, args);
}

PG_FUNCTION_INFO_V1(quant_record_live_gate_failure_autonomous);
Datum
quant_record_live_gate_failure_autonomous(PG_FUNCTION_ARGS)
{
	char *user = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char *reason = text_to_cstring(PG_GETARG_TEXT_PP(1));
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	/* On a hot standby the worker would never start (and we would wait for it forever): the
	 * caller's own record then fails read-only (25006), cleanly. */
	if (RecoveryInProgress())
		PG_RETURN_BOOL(false);
	prepare_worker(&worker, "quant_live_gate_failure_main", "quant live gate");
	worker.bgw_notify_pid = MyProcPid;
	strlcpy(worker.bgw_extra, user, GATE_USER_LEN);
	strlcpy(worker.bgw_extra + GATE_USER_LEN, reason, GATE_REASON_LEN);

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		PG_RETURN_BOOL(false); /* no free worker slot: the caller records it in its own transaction */
	PG_RETURN_BOOL(WaitForBackgroundWorkerShutdown(handle) == BGWH_STOPPED);
}

/* ---- an API key's last use ---- */
void
quant_api_key_used_main(Datum arg)
{
	char key_id[KEY_ID_LEN];
	const char *args[1] = {key_id};

	memcpy(key_id, MyBgworkerEntry->bgw_extra, KEY_ID_LEN);
	key_id[KEY_ID_LEN - 1] = '\0';
	run_statement(arg, "SELECT trade.api_key_record_use($1::uuid)", 1, args);
}

/* Starts the update and returns at once: true when a worker slot was free (else the next
 * login tries again; last_used_at is a hint, not a record). On a hot standby (read scale-out:
 * docs/scale.md) nothing can be written and a worker registered during recovery would hold
 * its slot until promotion (bgw_start_time RecoveryFinished), starving parallel query: no
 * worker, false. Logins served by a standby leave last_used_at to the primary's. */
PG_FUNCTION_INFO_V1(quant_api_key_used_async);
Datum
quant_api_key_used_async(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(quant_api_key_use_start(PG_GETARG_UUID_P(0)));
}

bool
quant_api_key_use_start(const pg_uuid_t *key_id)
{
	char *key_text;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	if (RecoveryInProgress())
		return false;
	key_text = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(key_id)));
	prepare_worker(&worker, "quant_api_key_used_main", "quant api key use");
	strlcpy(worker.bgw_extra, key_text, KEY_ID_LEN);
	return RegisterDynamicBackgroundWorker(&worker, &handle);
}
