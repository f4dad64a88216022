/*
 * The quant user of a request, held in backend memory: not a setting, so no SET or set_config
 * can choose it. Set for the transaction by a login (quant.login_api_key) or a SECURITY DEFINER
 * loop acting as each owner (trade.set_transaction_user), or by quant.set_user, which only an
 * administrator or the login of that very name may call. A transaction's user ends with it and
 * with an aborted subtransaction that set it, as SET LOCAL would; a session's user (psql) stays.
 */
#include "quant_pg.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "auth.h"

/* A transaction's user, pushed per subtransaction that set it (TopTransactionContext). */
typedef struct LocalUser
{
	char name[QUANT_USER_MAX + 1];
	bool nobody; /* a failed login: no user, even if the session has one */
	SubTransactionId subid;
	struct LocalUser *prev;
} LocalUser;

static LocalUser *local_top = NULL;
static char session_name[QUANT_USER_MAX + 1];
static bool session_set = false;
/* The session's user before this transaction changed it: an abort puts it back, as for SET. */
static bool session_changed = false;
static char session_name_before[QUANT_USER_MAX + 1];
static bool session_set_before = false;

const char *
quant_user_current(void)
{
	if (local_top != NULL)
		return local_top->nobody ? NULL : local_top->name;
	return session_set ? session_name : NULL;
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (session_changed)
			{
				strlcpy(session_name, session_name_before, sizeof(session_name));
				session_set = session_set_before;
			}
			/* FALLTHROUGH */
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			local_top = NULL; /* its memory goes with TopTransactionContext */
			session_changed = false;
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	LocalUser *u;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while (local_top != NULL && local_top->subid == mySubid)
			local_top = local_top->prev;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (u = local_top; u != NULL && u->subid == mySubid; u = u->prev)
			u->subid = parentSubid;
		/* the top entry shadows the parent's own: drop it, so loops over owners stay small */
		while (local_top != NULL && local_top->prev != NULL && local_top->prev->subid == local_top->subid)
			local_top->prev = local_top->prev->prev;
	}
}

void
quant_user_context_init(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

/* 1 to 64 characters of letters, digits, _ . @ - (22023 otherwise). */
static void
check_name(const char *fn, const char *name)
{
	size_t n = strlen(name);
	size_t i;
	bool ok = n >= 1 && n <= QUANT_USER_MAX;

	for (i = 0; ok && i < n; i++)
	{
		char c = name[i];

		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		     c == '.' || c == '@' || c == '-';
	}
	if (!ok)
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		         errmsg("%s: name must be 1 to 64 characters of letters, digits, _ . @ -, got \"%.80s\"", fn,
		                name),
		         err_generic_string(PG_DIAG_COLUMN_NAME, "name"),
		         errhint("a user name such as alfcheun or alice@example.com")));
}

static void
set_local(const char *name)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	LocalUser *u = local_top;

	if (u == NULL || u->subid != subid)
	{
		u = MemoryContextAllocZero(TopTransactionContext, sizeof(LocalUser));
		u->subid = subid;
		u->prev = local_top;
		local_top = u;
	}
	u->nobody = name == NULL;
	strlcpy(u->name, name != NULL ? name : "", sizeof(u->name));
}

void
quant_user_set_transaction(const char *fn, const char *name)
{
	if (name != NULL)
		check_name(fn, name);
	set_local(name);
}

/* A session SET after a SET LOCAL wins, as for settings. */
static void
set_session(const char *name)
{
	if (!session_changed)
	{
		strlcpy(session_name_before, session_name, sizeof(session_name_before));
		session_set_before = session_set;
		session_changed = true;
	}
	strlcpy(session_name, name != NULL ? name : "", sizeof(session_name));
	session_set = name != NULL;
	local_top = NULL;
}

/* Whether the calling role may act as name: a superuser, a member of quant_admin, the login of
 * that name, or anyone when name is already the current user (that changes nothing). */
static bool
may_act_as(const char *name)
{
	Oid admin = get_role_oid("quant_admin", true);
	const char *current = quant_user_current();

	if (superuser())
		return true;
	if (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin))
		return true;
	if (strcmp(GetUserNameFromId(GetSessionUserId(), false), name) == 0)
		return true;
	return current != NULL && strcmp(current, name) == 0;
}

/* quant.set_user(name, is_local): for psql and administrators. */
PG_FUNCTION_INFO_V1(quant_set_user);
Datum
quant_set_user(PG_FUNCTION_ARGS)
{
	const char *fn = "quant.set_user";
	char *name;
	bool is_local;

	quant_require_arg(fcinfo, 0, fn, "name");
	quant_require_arg(fcinfo, 1, fn, "is_local");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	is_local = PG_GETARG_BOOL(1);
	check_name(fn, name);
	if (!may_act_as(name))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("%s: role \"%s\" may not act as quant user \"%s\"", fn,
		                       GetUserNameFromId(GetUserId(), false), name),
		                err_generic_string(PG_DIAG_COLUMN_NAME, "name"),
		                errhint("log in as that user, or as a superuser or a member of quant_admin; the REST "
		                        "layer authenticates with quant.login_api_key")));
	if (is_local)
		set_local(name);
	else
		set_session(name);
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

/* quant.reset_user(): no quant user for the session (psql's "log out"). */
PG_FUNCTION_INFO_V1(quant_reset_user);
Datum
quant_reset_user(PG_FUNCTION_ARGS)
{
	set_session(NULL);
	PG_RETURN_VOID();
}

/* trade.set_transaction_user(user_id): internal (no grants), for SECURITY DEFINER functions
 * that authenticate or act as each owner in turn. NULL: no user for the rest of the transaction. */
PG_FUNCTION_INFO_V1(quant_set_transaction_user);
Datum
quant_set_transaction_user(PG_FUNCTION_ARGS)
{
	char *name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	quant_user_set_transaction("trade.set_transaction_user", name);
	if (name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

PG_FUNCTION_INFO_V1(quant_current_user_id);
Datum
quant_current_user_id(PG_FUNCTION_ARGS)
{
	const char *u = quant_user_current();

	if (u == NULL)
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION), errmsg("quant: no current user"),
		         errhint("call SELECT quant.set_user('your_name') first (or log in with an API key)")));
	PG_RETURN_TEXT_P(cstring_to_text(u));
}

PG_FUNCTION_INFO_V1(quant_authenticated);
Datum
quant_authenticated(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(quant_user_current() != NULL);
}
