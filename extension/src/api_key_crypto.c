/*
 * API keys' primitives: random bytes, HMAC-SHA-256 with the installation's pepper, and a
 * constant-time comparison (libsodium). The SQL keeps them internal (no grants).
 */
#include "quant_pg.h"

#include "utils/builtins.h"

#include "auth.h"

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
	quant_sodium_ready(fn);
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
	quant_sodium_ready("trade.bytea_equal_ct");
	if (VARSIZE_ANY_EXHDR(a) != VARSIZE_ANY_EXHDR(b))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(sodium_memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0);
}
