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
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

/* ---- UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then 12 bits of sub-millisecond time
 * (so ids made by one backend sort in creation order), then 62 random bits. ---- */
PG_FUNCTION_INFO_V1(quant_uuid_generate_v7);
Datum
quant_uuid_generate_v7(PG_FUNCTION_ARGS)
{
	static int64 last_us = 0;
	pg_uuid_t *uuid = palloc(UUID_LEN);
	struct timeval tv;
	int64 us;
	uint64 ms;
	uint32 sub;

	if (!pg_strong_random(uuid->data, UUID_LEN))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
		                errmsg("quant.uuid_generate_v7: could not generate random values")));
	gettimeofday(&tv, NULL);
	us = (int64) tv.tv_sec * 1000000 + tv.tv_usec;
	if (us <= last_us)
		us = last_us + 1; /* monotonic within the backend, even if the clock steps back */
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
typedef QuantStatus (*NormalizeFn)(const char *, size_t, char **, size_t *, QuantError *);

static Datum
normalize(FunctionCallInfo fcinfo, const char *fn, NormalizeFn normalize_fn)
{
	Jsonb *jb;
	char *text;
	char *json;
	size_t len;
	QuantError err;

	quant_require_arg(fcinfo, 0, fn, "config");
	jb = PG_GETARG_JSONB_P(0);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	if (normalize_fn(text, strlen(text), &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	pfree(text);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* quant.normalize_strategy(config) and bt.normalize_strategy(config, fn): the validator's
 * warnings (e.g. a price-level indicator with a band signal) are raised as NOTICEs, prefixed
 * with fn (the API function the user called) when given, exactly as quant.backtest does. */
PG_FUNCTION_INFO_V1(quant_normalize_strategy);
Datum
quant_normalize_strategy(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.normalize_strategy";
	QuantStrategy *strategy;
	char *json;
	size_t len;
	QuantError err;

	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
		fn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	strategy = quant_strategy_arg(fcinfo, 0, fn); /* 22004 for NULL, the ERROR of the validator, NOTICEs */
	if (quant_strategy_to_json(strategy, &json, &len, &err) != QUANT_OK)
		quant_report(&err, fn);
	quant_own(json, quant_free);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

PG_FUNCTION_INFO_V1(quant_normalize_deployment);
Datum
quant_normalize_deployment(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(normalize(fcinfo, "quant.normalize_deployment", quant_deployment_normalize_json));
}

/* ---- API keys: random bytes, HMAC-SHA-256 with the installation's pepper, and a
 * constant-time comparison (libsodium). sql/api_keys.sql keeps them internal. ---- */
PG_FUNCTION_INFO_V1(quant_random_bytes);
Datum
quant_random_bytes(PG_FUNCTION_ARGS)
{
	const char *fn = "trade.random_bytes";
	int32 n;
	bytea *out;

	quant_require_arg(fcinfo, 0, fn, "n");
	n = PG_GETARG_INT32(0);
	if (n < 1 || n > 1024)
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s: n must be 1 to 1024, got %d", fn, n),
		         err_generic_string(PG_DIAG_COLUMN_NAME, "n")));
	out = palloc(VARHDRSZ + n);
	SET_VARSIZE(out, VARHDRSZ + n);
	if (!pg_strong_random(VARDATA(out), n))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("%s: could not generate random values", fn)));
	PG_RETURN_BYTEA_P(out);
}

static void sodium_ready(const char *fn);

PG_FUNCTION_INFO_V1(quant_hmac_sha256);
Datum
quant_hmac_sha256(PG_FUNCTION_ARGS)
{
	const char *fn = "trade.hmac_sha256";
	bytea *key;
	text *message;
	bytea *out;
	crypto_auth_hmacsha256_state state;

	quant_require_arg(fcinfo, 0, fn, "key");
	quant_require_arg(fcinfo, 1, fn, "message");
	key = PG_GETARG_BYTEA_PP(0);
	message = PG_GETARG_TEXT_PP(1);
	sodium_ready(fn);
	out = palloc(VARHDRSZ + crypto_auth_hmacsha256_BYTES);
	SET_VARSIZE(out, VARHDRSZ + crypto_auth_hmacsha256_BYTES);
	if (crypto_auth_hmacsha256_init(&state, (const unsigned char *) VARDATA_ANY(key),
	                                VARSIZE_ANY_EXHDR(key)) != 0 ||
	    crypto_auth_hmacsha256_update(&state, (const unsigned char *) VARDATA_ANY(message),
	                                  VARSIZE_ANY_EXHDR(message)) != 0 ||
	    crypto_auth_hmacsha256_final(&state, (unsigned char *) VARDATA(out)) != 0)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("%s: HMAC-SHA-256 failed", fn)));
	sodium_memzero(&state, sizeof(state));
	PG_RETURN_BYTEA_P(out);
}

/* Equal lengths and equal bytes, in time independent of where they differ. */
PG_FUNCTION_INFO_V1(quant_bytea_equal_ct);
Datum
quant_bytea_equal_ct(PG_FUNCTION_ARGS)
{
	bytea *a;
	bytea *b;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	a = PG_GETARG_BYTEA_PP(0);
	b = PG_GETARG_BYTEA_PP(1);
	sodium_ready("trade.bytea_equal_ct");
	if (VARSIZE_ANY_EXHDR(a) != VARSIZE_ANY_EXHDR(b))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(sodium_memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0);
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
		        (errcode(ERRCODE_INTERNAL_ERROR), errmsg("%s: libsodium could not be initialised", fn)));
	ready = true;
}

PG_FUNCTION_INFO_V1(quant_trade_password_hash);
Datum
quant_trade_password_hash(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.trade_password_hash";
	text *pw;
	char hash[crypto_pwhash_STRBYTES];

	quant_require_arg(fcinfo, 0, fn, "password");
	pw = PG_GETARG_TEXT_PP(0);
	sodium_ready(fn);
	/* OWASP's Argon2id floor is 19 MiB and 2 passes; INTERACTIVE is 64 MiB and 2 passes. */
	if (crypto_pwhash_str(hash, VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		ereport(ERROR,
		        (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("%s: out of memory while hashing the password", fn)));
	PG_RETURN_TEXT_P(cstring_to_text(hash));
}

PG_FUNCTION_INFO_V1(quant_trade_password_verify);
Datum
quant_trade_password_verify(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.trade_password_verify";
	char *hash;
	text *pw;

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
	char user[GATE_USER_LEN];
	char reason[GATE_REASON_LEN];
	Oid types[2] = {TEXTOID, TEXTOID};
	Datum values[2];

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
	if (SPI_execute_with_args("SELECT trade.record_live_gate_failure($1, $2)", 2, types, values, NULL, false,
	                          1) != SPI_OK_SELECT)
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
	char *user = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char *reason = text_to_cstring(PG_GETARG_TEXT_PP(1));
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
		PG_RETURN_BOOL(false); /* no free worker slot: the caller records it in its own transaction */
	PG_RETURN_BOOL(WaitForBackgroundWorkerShutdown(handle) == BGWH_STOPPED);
}
