/*
 * The registry's C functions: UUIDv7 ids, Strategy/Deployment JSON normalisation through the
 * one core validator, and the trade password's Argon2id hash (libsodium, a C library: fine here).
 */
#include "quant_pg.h"

#include <sodium.h>
#include <sys/time.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* ---- UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then 12 bits of sub-millisecond time
 * (so ids made by one backend sort in creation order), then 62 random bits. ---- */
PG_FUNCTION_INFO_V1(quant_uuid_generate_v7);
Datum
quant_uuid_generate_v7(PG_FUNCTION_ARGS)
{
	static int64 last_us = 0;
	pg_uuid_t  *uuid = palloc(UUID_LEN);
	struct timeval tv;
	int64		us;
	uint64		ms;
	uint32		sub;

	if (!pg_strong_random(uuid->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("quant.uuid_generate_v7: could not generate random values")));
	gettimeofday(&tv, NULL);
	us = (int64) tv.tv_sec * 1000000 + tv.tv_usec;
	if (us <= last_us)
		us = last_us + 1;		/* monotonic within the backend, even if the clock steps back */
	last_us = us;
	ms = (uint64) (us / 1000);
	sub = (uint32) (((us % 1000) * 4096) / 1000); /* 0..4095 */

	uuid->data[0] = (unsigned char) (ms >> 40);
	uuid->data[1] = (unsigned char) (ms >> 32);
	uuid->data[2] = (unsigned char) (ms >> 24);
	uuid->data[3] = (unsigned char) (ms >> 16);
	uuid->data[4] = (unsigned char) (ms >> 8);
	uuid->data[5] = (unsigned char) ms;
	uuid->data[6] = (unsigned char) (0x70 | ((sub >> 8) & 0x0F)); /* version 7 */
	uuid->data[7] = (unsigned char) (sub & 0xFF);
	uuid->data[8] = (unsigned char) (0x80 | (uuid->data[8] & 0x3F)); /* variant 10 */
	PG_RETURN_UUID_P(uuid);
}

/* ---- normalisation through the core validator ---- */
typedef QuantStatus (*NormalizeFn) (const char *, size_t, char **, size_t *, QuantError *);

static Datum
normalize(FunctionCallInfo fcinfo, const char *fn, NormalizeFn normalize_fn)
{
	Jsonb	   *jb;
	char	   *text;
	char	   *json;
	size_t		len;
	QuantError	err;

	quant_require_arg(fcinfo, 0, fn, "config");
	jb = PG_GETARG_JSONB_P(0);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	if (normalize_fn(text, strlen(text), &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	pfree(text);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

PG_FUNCTION_INFO_V1(quant_normalize_strategy);
Datum
quant_normalize_strategy(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(normalize(fcinfo, "quant.normalize_strategy", quant_strategy_normalize_json));
}

PG_FUNCTION_INFO_V1(quant_normalize_deployment);
Datum
quant_normalize_deployment(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(normalize(fcinfo, "quant.normalize_deployment", quant_deployment_normalize_json));
}

/* ---- the trade password: Argon2id (libsodium's crypto_pwhash_str default algorithm) ---- */
static void
sodium_ready(const char *fn)
{
	static bool ready = false;

	if (ready)
		return;
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s: libsodium could not be initialised", fn)));
	ready = true;
}

PG_FUNCTION_INFO_V1(quant_trade_password_hash);
Datum
quant_trade_password_hash(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.trade_password_hash";
	text	   *pw;
	char		hash[crypto_pwhash_STRBYTES];

	quant_require_arg(fcinfo, 0, fn, "password");
	pw = PG_GETARG_TEXT_PP(0);
	sodium_ready(fn);
	/* OWASP's Argon2id floor is 19 MiB and 2 passes; INTERACTIVE is 64 MiB and 2 passes. */
	if (crypto_pwhash_str(hash, VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
						  crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: out of memory while hashing the password", fn)));
	PG_RETURN_TEXT_P(cstring_to_text(hash));
}

PG_FUNCTION_INFO_V1(quant_trade_password_verify);
Datum
quant_trade_password_verify(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.trade_password_verify";
	char	   *hash;
	text	   *pw;

	quant_require_arg(fcinfo, 0, fn, "hash");
	quant_require_arg(fcinfo, 1, fn, "password");
	hash = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pw = PG_GETARG_TEXT_PP(1);
	sodium_ready(fn);
	PG_RETURN_BOOL(crypto_pwhash_str_verify(hash, VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw)) == 0);
}

/* ---- the live gate's autonomous failure record ----
 * A refused attempt raises an ERROR, which rolls back the caller's transaction; the failure must
 * still count. So a short-lived background worker inserts it in a transaction of its own, and the
 * caller waits for it. Dynamic workers need no shared_preload_libraries. The worker connects as
 * the bootstrap superuser (the caller may be a NOLOGIN role such as quant_app) and runs only
 * trade.record_live_gate_failure, with a lock timeout so that it can never wait forever. */
#define GATE_USER_LEN 65
#define GATE_REASON_LEN (BGW_EXTRALEN - GATE_USER_LEN)

PGDLLEXPORT void quant_live_gate_failure_main(Datum arg);

void
quant_live_gate_failure_main(Datum arg)
{
	char		user[GATE_USER_LEN];
	char		reason[GATE_REASON_LEN];
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	memcpy(user, MyBgworkerEntry->bgw_extra, GATE_USER_LEN);
	user[GATE_USER_LEN - 1] = '\0';
	memcpy(reason, MyBgworkerEntry->bgw_extra + GATE_USER_LEN, GATE_REASON_LEN);
	reason[GATE_REASON_LEN - 1] = '\0';

	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), BOOTSTRAP_SUPERUSERID, 0);
	SetConfigOption("lock_timeout", "5000", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("statement_timeout", "10000", PGC_USERSET, PGC_S_SESSION);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "quant live gate: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = CStringGetTextDatum(user);
	values[1] = CStringGetTextDatum(reason);
	if (SPI_execute_with_args("SELECT trade.record_live_gate_failure($1, $2)", 2, types, values, NULL, false, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "quant live gate: recording the failure failed");
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(quant_record_live_gate_failure_autonomous);
Datum
quant_record_live_gate_failure_autonomous(PG_FUNCTION_ARGS)
{
	char	   *user = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *reason = text_to_cstring(PG_GETARG_TEXT_PP(1));
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "quant");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "quant_live_gate_failure_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "quant live gate failure record");
	snprintf(worker.bgw_type, BGW_MAXLEN, "quant live gate");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = MyProcPid;
	strlcpy(worker.bgw_extra, user, GATE_USER_LEN);
	strlcpy(worker.bgw_extra + GATE_USER_LEN, reason, GATE_REASON_LEN);

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		PG_RETURN_BOOL(false);	/* no free worker slot: the caller records it in its own transaction */
	PG_RETURN_BOOL(WaitForBackgroundWorkerShutdown(handle) == BGWH_STOPPED);
}
