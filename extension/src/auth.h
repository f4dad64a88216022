/*
 * Users and secrets (C, Postgres side): the quant user of the transaction or session, held in
 * backend memory (user_context.c), and libsodium's one-time initialisation.
 */
#ifndef QUANT_AUTH_H
#define QUANT_AUTH_H

#include "postgres.h"

#include <sodium.h>

/* Registers the transaction callbacks that end a transaction's user (from _PG_init). */
void quant_user_context_init(void);

/* Defines the setting quant.credential_key_file (credential_crypto.c; from _PG_init). */
void quant_credential_init(void);

/* The current quant user, or NULL when none is set (or a failed login cleared it). */
const char *quant_user_current(void);

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
