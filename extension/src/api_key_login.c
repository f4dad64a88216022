/*
 * quant.login_api_key: the REST layer's login, first in every request's transaction.
 *
 * The key rows it has read, and the installation's pepper, are kept per backend so that a
 * login reads no table: the HMAC of the presented key under the pepper is still computed and
 * compared with the stored hash on every call (the key itself is never kept). What could make
 * a kept row wrong is pushed: statement triggers on trade.api_key (UPDATE of key_id, user_id,
 * key_hash or revoked_at; DELETE; TRUNCATE) and on trade.api_key_pepper send a relcache
 * invalidation of the table at commit (trade.api_key_cache_invalidate), and every backend drops
 * all it keeps when it takes that message in, which each login makes it do first
 * (AcceptInvalidationMessages): a revocation committed before a login starts is seen by it, in
 * every backend, on a hot standby too (the messages travel in the commit's WAL record). A
 * backend that missed messages (its queue overflowed) is reset, which drops everything as well.
 * A row read while an invalidation arrived is used for that login but not kept, and so is
 * everything read in a REPEATABLE READ or SERIALIZABLE transaction (its snapshot may predate a
 * change whose message was taken in already). Inserts fire the triggers too, before and after
 * each statement: a key or pepper this transaction made or changed and a login read is dropped
 * when it rolls back (a transaction's own messages are applied locally at its abort), also when
 * the statement that made it failed before its end, so nothing uncommitted outlives its
 * transaction. At the bound (KEPT_MAX rows) the rows are dropped and read anew.
 *
 * last_used_at is not a reason to drop anything: it is written beside the request by an
 * autonomous worker (autonomous.c), at most once a minute per key and backend, and the kept
 * row remembers when this backend last asked for it.
 */
#include "quant_pg.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "auth.h"

#define KEY_LENGTH 79 /* qk_ + 32 hex digits + _ + 43 base64url characters */
#define KEY_HASH_LENGTH crypto_auth_hmacsha256_BYTES
#define PEPPER_MAX 64
#define KEPT_MAX 4096 /* rows kept per backend; at the bound all are dropped and kept anew */
#define USE_INTERVAL_MS 60000

typedef struct KeptKey
{
	pg_uuid_t key_id;                 /* the hash key */
	char user_id[QUANT_USER_MAX + 2]; /* one more: a longer name stays too long, and is refused */
	unsigned char key_hash[KEY_HASH_LENGTH];
	bool revoked;
	bool used; /* last_used_at is known (not NULL) */
	TimestampTz last_used_at;
} KeptKey;

typedef struct Pepper
{
	unsigned char bytes[PEPPER_MAX];
	int length; /* 0: not known (or none made yet) */
} Pepper;

/* What one login read: used for it, and kept unless an invalidation came in meanwhile. */
typedef struct KeyRow
{
	bool found;
	KeptKey key;
	Pepper pepper;
} KeyRow;

static HTAB *kept = NULL;
static Pepper pepper;
static Oid api_key_relid = InvalidOid;
static Oid pepper_relid = InvalidOid;
static uint64 generation = 0; /* counts the drops, so a row read across one is not kept */

static void
drop_all(void)
{
	if (kept != NULL)
	{
		hash_destroy(kept);
		kept = NULL;
	}
	sodium_memzero(&pepper, sizeof(pepper));
	api_key_relid = InvalidOid;
	pepper_relid = InvalidOid;
	generation++;
}

static void
relcache_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == api_key_relid || relid == pepper_relid)
		drop_all();
}

void
quant_api_key_login_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

/* The key_id of a key of the form above, false for any other text (trade.token_id's rule). */
static bool
key_id_of(const char *key, size_t length, pg_uuid_t *id)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (length != KEY_LENGTH || memcmp(key, "qk_", 3) != 0 || key[35] != '_')
		return false;
	for (i = 0; i < UUID_LEN; i++)
	{
		const char *hi = memchr(hex, key[3 + 2 * i], 16);
		const char *lo = memchr(hex, key[4 + 2 * i], 16);

		if (hi == NULL || lo == NULL)
			return false;
		id->data[i] = (unsigned char) (((hi - hex) << 4) | (lo - hex));
	}
	for (i = 36; i < KEY_LENGTH; i++)
	{
		char c = key[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static Oid
trade_relid(const char *name)
{
	return get_relname_relid(name, get_namespace_oid("trade", false));
}

/* Reads the key's row and the pepper, as this function's owner. */
static void
read_row(const pg_uuid_t *key_id, KeyRow *row)
{
	const char *fn = "quant.login_api_key";
	Oid type = UUIDOID;
	Datum id = UUIDPGetDatum(key_id);
	bool isnull;

	memset(row, 0, sizeof(*row));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "%s: SPI_connect failed", fn);
	if (SPI_execute_with_args("SELECT t.user_id, t.key_hash, t.revoked_at IS NOT NULL, t.last_used_at "
	                          "FROM trade.api_key t WHERE t.key_id OPERATOR(pg_catalog.=) $1",
	                          1, &type, &id, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "%s: reading trade.api_key failed", fn);
	if (SPI_processed == 1)
	{
		HeapTuple t = SPI_tuptable->vals[0];
		TupleDesc d = SPI_tuptable->tupdesc;
		bool used_null;
		char *user = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull)); /* NOT NULL columns */
		bytea *hash = DatumGetByteaPP(SPI_getbinval(t, d, 2, &isnull));
		bool revoked = DatumGetBool(SPI_getbinval(t, d, 3, &isnull));
		Datum used = SPI_getbinval(t, d, 4, &used_null);

		row->found = true;
		row->key.key_id = *key_id;
		strlcpy(row->key.user_id, user, sizeof(row->key.user_id));
		if (VARSIZE_ANY_EXHDR(hash) == KEY_HASH_LENGTH) /* the table's CHECK */
			memcpy(row->key.key_hash, VARDATA_ANY(hash), KEY_HASH_LENGTH);
		row->key.revoked = revoked;
		row->key.used = !used_null;
		row->key.last_used_at = used_null ? 0 : DatumGetTimestampTz(used);
	}
	if (SPI_execute("SELECT t.pepper FROM trade.api_key_pepper t WHERE t.singleton", false, 1) !=
	    SPI_OK_SELECT)
		elog(ERROR, "%s: reading trade.api_key_pepper failed", fn);
	if (SPI_processed == 1)
	{
		Datum p = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			bytea *b = DatumGetByteaPP(p);
			size_t n = VARSIZE_ANY_EXHDR(b);

			if (n < 1 || n > PEPPER_MAX)
				elog(ERROR, "%s: the pepper has %zu bytes", fn, n);
			memcpy(row->pepper.bytes, VARDATA_ANY(b), n);
			row->pepper.length = (int) n;
		}
	}
	SPI_finish();
}

static HTAB *
new_table(void)
{
	HASHCTL ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(KeptKey);
	ctl.hcxt = TopMemoryContext;
	return hash_create("quant api keys", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* The kept row of key_id and the pepper (*pepper_of, NULL when none was ever made), read when
 * not kept; NULL for an unknown key_id (never kept: the next login reads again). A row read but
 * not kept is read's own, so what the caller writes into the result is kept exactly when the
 * row is. */
static KeptKey *
find_key(const pg_uuid_t *key_id, KeyRow *read, const Pepper **pepper_of)
{
	uint64 before = generation;
	KeptKey *k;
	bool found;

	if (kept == NULL)
		kept = new_table();
	if (IsolationUsesXactSnapshot())
	{
		/* the transaction's snapshot may be older than what was pushed: read, keep nothing */
		read_row(key_id, read);
		*pepper_of = read->pepper.length > 0 ? &read->pepper : NULL;
		return read->found ? &read->key : NULL;
	}
	k = hash_search(kept, key_id, HASH_FIND, NULL);
	if (k != NULL && pepper.length > 0)
	{
		*pepper_of = &pepper;
		return k;
	}
	if (!OidIsValid(api_key_relid))
	{
		api_key_relid = trade_relid("api_key");
		pepper_relid = trade_relid("api_key_pepper");
	}
	/* the pepper too, each time: what is kept may be dropped while reading */
	read_row(key_id, read);
	if (generation != before || kept == NULL)
	{
		/* dropped while reading: what was read serves this login only */
		*pepper_of = read->pepper.length > 0 ? &read->pepper : NULL;
		return read->found ? &read->key : NULL;
	}
	pepper = read->pepper;
	sodium_memzero(&read->pepper, sizeof(read->pepper));
	*pepper_of = pepper.length > 0 ? &pepper : NULL;
	if (!read->found)
		return NULL;
	if (hash_get_num_entries(kept) >= KEPT_MAX)
	{
		/* at the bound the rows are read anew (the pepper stays: nothing changed) */
		hash_destroy(kept);
		kept = new_table();
	}
	k = hash_search(kept, key_id, HASH_ENTER, &found);
	*k = read->key;
	return k;
}

/*
 * A valid key makes its user the current quant user until the transaction ends and returns
 * the user; a NULL, malformed, unknown, wrong or revoked key returns NULL and leaves no user.
 * The HMAC is computed and compared even for an unknown key_id (zeros in its place).
 */
PG_FUNCTION_INFO_V1(quant_login_api_key);
Datum
quant_login_api_key(PG_FUNCTION_ARGS)
{
	static const unsigned char zeros[KEY_HASH_LENGTH] = {0};
	text *key;
	pg_uuid_t key_id;
	KeyRow read;
	KeptKey *k;
	const Pepper *pepper_of = NULL;
	crypto_auth_hmacsha256_state state;
	unsigned char mac[KEY_HASH_LENGTH];
	bool ok;
	TimestampTz now;

	/* a failed login leaves no user, whoever was before */
	quant_user_set_transaction("quant.login_api_key", NULL);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	key = PG_GETARG_TEXT_PP(0);
	if (!key_id_of(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), &key_id))
		PG_RETURN_NULL();
	quant_sodium_ready("quant.login_api_key");
	AcceptInvalidationMessages(); /* revocations committed by others, before anything kept is used */
	k = find_key(&key_id, &read, &pepper_of);
	if (pepper_of == NULL)
		PG_RETURN_NULL(); /* no key was ever made here */
	if (crypto_auth_hmacsha256_init(&state, pepper_of->bytes, (size_t) pepper_of->length) != 0 ||
	    crypto_auth_hmacsha256_update(&state, (const unsigned char *) VARDATA_ANY(key),
	                                  VARSIZE_ANY_EXHDR(key)) != 0 ||
	    crypto_auth_hmacsha256_final(&state, mac) != 0)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("quant.login_api_key: HMAC-SHA-256 failed")));
	sodium_memzero(&state, sizeof(state));
	sodium_memzero(&read.pepper, sizeof(read.pepper));
	ok = sodium_memcmp(mac, k != NULL ? k->key_hash : zeros, KEY_HASH_LENGTH) == 0 && k != NULL;
	if (!ok || k->revoked)
		PG_RETURN_NULL();
	now = GetCurrentTransactionStartTimestamp();
	if ((!k->used || k->last_used_at < TimestampTzPlusMilliseconds(now, -USE_INTERVAL_MS)) &&
	    quant_api_key_use_start(&key_id))
	{
		k->used = true; /* this backend asked: not again within the minute */
		k->last_used_at = now;
	}
	quant_user_set_transaction("quant.login_api_key", k->user_id);
	PG_RETURN_TEXT_P(cstring_to_text(k->user_id));
}

/* The statement triggers on trade.api_key and trade.api_key_pepper: every backend drops what it
 * keeps of them once this transaction commits; this backend also at the next command-counter
 * step and when the transaction rolls back. */
PG_FUNCTION_INFO_V1(quant_api_key_cache_invalidate);
Datum
quant_api_key_cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("trade.api_key_cache_invalidate: called as a trigger only")));
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}
