/*
 * Broker credentials at rest (sql/TRADE/credential.sql): libsodium secretbox under the key in
 * the file named by the setting quant.credential_key_file (64 hex characters; outside the
 * database, so a dump or a copy of the data directory alone never opens a secret). The sealed
 * plaintext binds the secret to its row (the worker checks it when it opens the box,
 * worker/src/credential.cpp):
 *   "quant-credential-v1:" <len>:<user> <len>:<broker> <len>:<environment> <len>:<api_key> <secret>
 * The clear secret only passes through this backend's memory (wiped after use); it is never
 * stored, logged or returned.
 */
#include "quant_pg.h"

#include <fcntl.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "auth.h"

static char *credential_key_file = NULL;

void
quant_credential_init(void)
{
	DefineCustomStringVariable(
	    "quant.credential_key_file",
	    "The file holding the broker credentials' encryption key (64 hex characters).",
	    "Readable by the server's OS user and by quant-worker (QUANT_CREDENTIAL_KEY_FILE); "
	    "keep it outside the data directory and out of backups of the database.",
	    &credential_key_file, "", PGC_SUSET, 0, NULL, NULL, NULL);
}

/* Reads the key into out[32]; raises naming the setting, never showing the file's content. */
static void
load_key(const char *fn, unsigned char *out)
{
	char buf[80];
	ssize_t n;
	size_t len = 0;
	int fd;

	if (credential_key_file == NULL || credential_key_file[0] == '\0')
		ereport(
		    ERROR,
		    (errcode(ERRCODE_CONFIG_FILE_ERROR),
		     errmsg("%s: quant.credential_key_file is not set, so broker credentials cannot be stored", fn),
		     errhint("make run writes a key file and sets it; elsewhere write 64 hex characters "
		             "(openssl rand -hex 32) to a file the server and quant-worker can read, and set "
		             "quant.credential_key_file to its path (sql/README.md, Broker credentials)")));
	fd = open(credential_key_file, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
		ereport(ERROR,
		        (errcode(ERRCODE_CONFIG_FILE_ERROR),
		         errmsg("%s: the credential key file \"%s\" cannot be read: %m", fn, credential_key_file)));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (n != 64 || sodium_hex2bin(out, 32, buf, 64, NULL, &len, NULL) != 0 || len != 32)
	{
		sodium_memzero(buf, sizeof(buf));
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
		                errmsg("%s: the credential key file \"%s\" must hold 64 hex characters (32 bytes)",
		                       fn, credential_key_file)));
	}
	sodium_memzero(buf, sizeof(buf));
}

static void
append_field(StringInfo s, const char *data, int len)
{
	appendStringInfo(s, "%d:", len);
	appendBinaryStringInfo(s, data, len);
}

/* trade.credential_seal(user_id, broker, environment, api_key, api_secret) -> nonce || ciphertext */
PG_FUNCTION_INFO_V1(quant_credential_seal);
Datum
quant_credential_seal(PG_FUNCTION_ARGS)
{
	const char *fn = "trade.credential_seal";
	static const char *const names[5] = {"user_id", "broker", "environment", "api_key", "api_secret"};
	text *arg[5];
	unsigned char key[32];
	StringInfoData plain;
	bytea *out;
	unsigned char *nonce;
	int i;

	for (i = 0; i < 5; i++)
	{
		quant_require_arg(fcinfo, i, fn, names[i]);
		arg[i] = PG_GETARG_TEXT_PP(i);
	}
	quant_sodium_ready(fn);
	load_key(fn, key);
	initStringInfo(&plain);
	appendStringInfoString(&plain, "quant-credential-v1:");
	for (i = 0; i < 4; i++)
		append_field(&plain, VARDATA_ANY(arg[i]), (int) VARSIZE_ANY_EXHDR(arg[i]));
	appendBinaryStringInfo(&plain, VARDATA_ANY(arg[4]), (int) VARSIZE_ANY_EXHDR(arg[4]));

	out = palloc(VARHDRSZ + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.len);
	SET_VARSIZE(out, VARHDRSZ + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.len);
	nonce = (unsigned char *) VARDATA(out);
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, (const unsigned char *) plain.data,
	                      (unsigned long long) plain.len, nonce, key);
	sodium_memzero(plain.data, plain.len);
	pfree(plain.data);
	sodium_memzero(key, sizeof(key));
	PG_RETURN_BYTEA_P(out);
}

/* trade.credential_fingerprint(api_key, api_secret) -> 16 hex characters of keyed BLAKE2b */
PG_FUNCTION_INFO_V1(quant_credential_fingerprint);
Datum
quant_credential_fingerprint(PG_FUNCTION_ARGS)
{
	const char *fn = "trade.credential_fingerprint";
	text *api_key;
	text *secret;
	unsigned char key[32];
	unsigned char h[8];
	char hex[17];
	StringInfoData msg;

	quant_require_arg(fcinfo, 0, fn, "api_key");
	quant_require_arg(fcinfo, 1, fn, "api_secret");
	api_key = PG_GETARG_TEXT_PP(0);
	secret = PG_GETARG_TEXT_PP(1);
	quant_sodium_ready(fn);
	load_key(fn, key);
	initStringInfo(&msg);
	appendBinaryStringInfo(&msg, VARDATA_ANY(api_key), (int) VARSIZE_ANY_EXHDR(api_key));
	appendStringInfoChar(&msg, '\n');
	appendBinaryStringInfo(&msg, VARDATA_ANY(secret), (int) VARSIZE_ANY_EXHDR(secret));
	crypto_generichash(h, sizeof(h), (const unsigned char *) msg.data, (unsigned long long) msg.len, key,
	                   sizeof(key));
	sodium_memzero(msg.data, msg.len);
	pfree(msg.data);
	sodium_memzero(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}
