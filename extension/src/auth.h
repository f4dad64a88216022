/*
 * Users and secrets (C, Postgres side): the quant user of the transaction or session, held in
 * backend memory (user_context.c), and libsodium's one-time initialisation.
 */
#ifndef QUANT_AUTH_H
#define QUANT_AUTH_H

#include "postgres.h"

#include <sodium.h>

#include "utils/uuid.h"

/* Registers the transaction callbacks that end a transaction's user (from _PG_init). */
void quant_user_context_init(void);

/* Defines the setting quant.credential_key_file (credential_crypto.c; from _PG_init). */
void quant_credential_init(void);

/* A quant user's name: 1 to 64 characters of letters, digits, _ . @ - */
#define QUANT_USER_MAX 64

/* The current quant user, or NULL when none is set (or a failed login cleared it). */
const char *quant_user_current(void);

/* The quant user for the rest of the transaction (NULL: none, even over the session's user);
 * ERROR 22023 naming fn for a name that is not a user name. */
void quant_user_set_transaction(const char *fn, const char *name);

/* Keeps what logins read of trade.api_key until an invalidation says it changed (from _PG_init). */
void quant_api_key_login_init(void);

/* Starts the autonomous update of the key's last_used_at and returns at once: false when no
 * worker slot was free or on a hot standby (autonomous.c). */
bool quant_api_key_use_start(const pg_uuid_t *key_id);

/* libsodium's sodium_init, once per backend (it is idempotent and thread-safe). */
static inline void
quant_sodium_ready(const char *fn)
{
	static bool ready = false;

	if (ready)
		return;
	if (sodium_init() < 0)
		ereport(ERROR,
		        (errcode(ERRCODE_INTERNAL_ERROR), errmsg("%s: libsodium could not be initialised", fn)));
	ready = true;
}

#endif /* QUANT_AUTH_H */
