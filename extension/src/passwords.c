/* The trade password: Argon2id (libsodium's crypto_pwhash_str default algorithm). */
#include "quant_pg.h"

#include "utils/builtins.h"

#include "auth.h"

PG_FUNCTION_INFO_V1(quant_trade_password_hash);
Datum
quant_trade_password_hash(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.trade_password_hash";
	text *pw;
	char hash[crypto_pwhash_STRBYTES];

	quant_require_arg(fcinfo, 0, fn, "password");
	pw = PG_GETARG_TEXT_PP(0);
	quant_sodium_ready(fn);
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
	quant_sodium_ready(fn);
	PG_RETURN_BOOL(crypto_pwhash_str_verify(hash, VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw)) == 0);
}
