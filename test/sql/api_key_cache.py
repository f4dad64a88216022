#!/usr/bin/env python3
"""quant.login_api_key keeps the key rows it read per backend (extension/src/api_key_login.c):
every change that matters reaches a backend that keeps the row, before its next login.

Backends kept open (quanttest.Session) log in as quant_app, the REST layer's role, while other
backends change the keys:
- a revocation committed elsewhere is seen by the next login of a backend that logged in with
  the key a moment before, also inside a transaction that was already open; a revocation rolled
  back changes nothing;
- a changed key_hash, a deleted key, a truncated table, a revocation under
  session_replication_role = replica, a changed pepper: all seen at once;
- a key made and logged in with in a transaction that rolls back does not log in afterwards in
  that backend;
- a REPEATABLE READ transaction logs in by its snapshot, and what it read is not kept;
- a key made, logged in with and then failed in one statement is gone in that backend too;
- a change of the table committed while a login reads its row: that login is still right;
- more keys than a backend keeps (4,096): every one logs in;
- a successful login still records last_used_at (beside it, in a worker's transaction).
Environment: PG* of the test database (the extension installed).
"""
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402

T = quanttest.Tally()
USER = "cache_alice"


def sql(*commands):
    """Each command in its own autocommit psql -c, as a superuser; the last output line."""
    out = quanttest.psql_c(*commands).strip().split("\n")
    return out[-1] if out else ""


def new_key(label):
    key = sql(f"SELECT quant.create_api_key('{USER}', '{label}')")
    return key, key[3:35]


def revoke(key_id):
    sql(f"SELECT quant.set_user('{USER}')", f"SELECT quant.revoke_api_key('{key_id}'::uuid) ->> 'status'")


def login(session, key):
    return session.one(f"SELECT quant.login_api_key('{key}') IS NOT NULL")


def main():
    app = quanttest.Session("SET client_min_messages = warning; SET ROLE quant_app;")
    pid = app.pid

    # 1. a revocation committed by another backend
    k1, id1 = new_key("revoked elsewhere")
    T.check(login(app, k1) == "t" and login(app, k1) == "t", "a valid key logs in, twice in one backend")
    revoke(id1)
    T.check(login(app, k1) == "f", "revoked by another backend: the next login of the backend that kept it fails")
    T.check(app.one("SELECT quant.authenticated()") == "f", "... and leaves no user")

    # 2. a revocation rolled back changes nothing; one committed while a transaction is open is
    # seen inside it (read committed, as a table read would)
    k2, id2 = new_key("rolled back")
    T.check(login(app, k2) == "t", "a second key logs in")
    other = quanttest.Session()
    other.run(f"BEGIN; SELECT quant.set_user('{USER}'); SELECT quant.revoke_api_key('{id2}'::uuid)")
    T.check(login(app, k2) == "t", "a revocation not committed yet: the key still logs in")
    other.run("ROLLBACK")
    T.check(login(app, k2) == "t", "a revocation rolled back: the key still logs in")
    app.run("BEGIN")
    T.check(login(app, k2) == "t", "in an open transaction the key logs in")
    revoke(id2)
    T.check(login(app, k2) == "f", "revoked while that transaction is open: its next login fails")
    app.run("COMMIT")

    # 3. changes made by hand, as a superuser
    k3, id3 = new_key("hash changed")
    T.check(login(app, k3) == "t", "a third key logs in")
    old_hash = sql(f"SELECT encode(key_hash, 'hex') FROM trade.api_key WHERE key_id = '{id3}'")
    sql(f"UPDATE trade.api_key SET key_hash = '\\x{'00' * 32}' WHERE key_id = '{id3}'")
    T.check(login(app, k3) == "f", "its key_hash changed: the login fails")
    sql(f"UPDATE trade.api_key SET key_hash = '\\x{old_hash}' WHERE key_id = '{id3}'")
    T.check(login(app, k3) == "t", "the hash put back: it logs in again")
    k4, id4 = new_key("deleted")
    T.check(login(app, k4) == "t", "a fourth key logs in")
    sql(f"DELETE FROM trade.api_key WHERE key_id = '{id4}'")
    T.check(login(app, k4) == "f", "its row deleted: the login fails")
    k5, id5 = new_key("replica")
    T.check(login(app, k5) == "t", "a fifth key logs in")
    sql(f"SET session_replication_role = replica; UPDATE trade.api_key SET revoked_at = now() WHERE key_id = '{id5}'")
    T.check(login(app, k5) == "f", "revoked under session_replication_role = replica: the login fails")

    # 4. the pepper changed: no key logs in; put back: they do again
    T.check(login(app, k3) == "t", "the third key logs in before the pepper changes")
    pepper = sql("SELECT encode(pepper, 'hex') FROM trade.api_key_pepper")
    sql(f"UPDATE trade.api_key_pepper SET pepper = '\\x{'11' * 32}'")
    T.check(login(app, k3) == "f", "the pepper changed: the key no longer logs in")
    sql(f"UPDATE trade.api_key_pepper SET pepper = '\\x{pepper}'")
    T.check(login(app, k3) == "t", "the pepper put back: it logs in again")

    # 5. a key made and used in a transaction that rolls back
    admin = quanttest.Session()
    admin.run("BEGIN")
    k6 = admin.one(f"SELECT quant.create_api_key('{USER}', 'rolled back key')")
    T.check(login(admin, k6) == "t", "a key made in an open transaction logs in inside it")
    admin.run("ROLLBACK")
    T.check(login(admin, k6) == "f", "after the rollback the key does not log in in that backend")
    T.check(sql(f"SELECT count(*) FROM trade.api_key WHERE key_id = '{k6[3:35]}'") == "0", "... nor exists")

    # 6. REPEATABLE READ: the login goes by the transaction's snapshot, and keeps nothing
    k7, id7 = new_key("repeatable read")
    rr = quanttest.Session("SET client_min_messages = warning; SET ROLE quant_app;")
    T.check(login(rr, k7) == "t", "a seventh key logs in")
    rr.run("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
    revoke(id7)
    T.check(login(rr, k7) == "t", "revoked after a REPEATABLE READ snapshot: that transaction still logs in")
    rr.run("COMMIT")
    T.check(login(rr, k7) == "f", "the next transaction of that backend does not")

    # 7. a key made and logged in with by a statement that then fails, in that same statement
    failing = quanttest.Session()

    def made_and_used(suffix):
        """INSERT a key and log in with it in one statement (a data-modifying WITH); the key."""
        kid = uuid.uuid4().hex
        key = f"qk_{kid}_{suffix * 43}"
        h = sql(f"SELECT encode(trade.hmac_sha256(trade.api_key_pepper(false), '{key}'), 'hex')")
        return key, (f"WITH ins AS (INSERT INTO trade.api_key (key_id, user_id, key_hash) "
                     f"SELECT '{kid}'::uuid, '{USER}', '\\x{h}'::bytea RETURNING key_id) ")

    k9, with9 = made_and_used("A")
    out = failing.run(f"BEGIN; {with9} SELECT quant.login_api_key('{k9}') IS NOT NULL FROM ins")
    T.check(out == ["t"], "a key made and logged in with in one statement of an open transaction", out)
    failing.run("ROLLBACK")
    T.check(login(failing, k9) == "f", "... rolled back: it does not log in in that backend")
    k9b, with9b = made_and_used("B")
    # (random() * 0, not 0: a constant 1 / 0 fails at planning, before the login ran)
    out = failing.run(f"{with9b} SELECT CASE WHEN quant.login_api_key('{k9b}') IS NOT NULL "
                      f"THEN 1 / (random() * 0)::int END FROM ins")
    T.check(any("division by zero" in line for line in out),
            "a statement that makes a key, logs in with it and then fails (division by zero)", out)
    T.check(login(failing, k9b) == "f", "... leaves nothing behind: the key does not log in in that backend")
    failing.close()

    # 8. a change committed while a login reads the row: that login and the next are right
    k10, id10 = new_key("read while changed")
    reader = quanttest.Session("SET client_min_messages = warning; SET ROLE quant_app;")
    T.check(login(reader, k3) == "t", "a backend that keeps the pepper (the third key logs in)")
    locker = quanttest.Session()
    locker.run("BEGIN; LOCK TABLE trade.api_key; UPDATE trade.api_key SET revoked_at = revoked_at WHERE false")
    reader.send(f"SELECT quant.login_api_key('{k10}') IS NOT NULL")  # waits for the lock
    time.sleep(0.3)
    locker.run("COMMIT")
    during = reader.receive()
    T.check(during == ["t"], "a valid key whose row is read while a change of the table commits logs in", during)
    T.check(login(reader, k10) == "t", "... and again after it")
    reader.close()
    locker.close()

    # 9. more keys than a backend keeps (KEPT_MAX, 4,096): every one logs in, twice
    sql("DROP TABLE IF EXISTS public.cache_bulk_keys",
        "CREATE TABLE public.cache_bulk_keys AS SELECT 'qk_' || replace(u::text, '-', '') || '_' || "
        "rtrim(translate(encode(sha256(u::text::bytea), 'base64'), '+/', '-_'), '=') AS key, u AS key_id "
        "FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, 4200)) g",
        "INSERT INTO trade.api_key (key_id, user_id, key_hash, last_used_at) "
        f"SELECT key_id, '{USER}_bulk', trade.hmac_sha256(trade.api_key_pepper(false), key), now() "
        "FROM public.cache_bulk_keys",
        "GRANT SELECT ON public.cache_bulk_keys TO quant_app")
    bulk = quanttest.Session("SET client_min_messages = warning; SET ROLE quant_app;")
    counts = [bulk.one("SELECT count(*) FILTER (WHERE quant.login_api_key(key) IS NOT NULL) "
                       "FROM public.cache_bulk_keys") for _ in range(2)]
    T.check(counts == ["4200", "4200"], "4,200 keys in one backend: all log in, twice", counts)
    bulk.close()
    sql("DROP TABLE public.cache_bulk_keys")

    # 10. last_used_at is still recorded
    k8, id8 = new_key("last used")
    T.check(login(app, k8) == "t", "an eighth key logs in")
    used = "f"
    for _ in range(100):
        used = sql(f"SELECT last_used_at IS NOT NULL FROM trade.api_key WHERE key_id = '{id8}'")
        if used == "t":
            break
        time.sleep(0.1)
    T.check(used == "t", "its last_used_at is recorded")

    T.check(app.pid == pid and app.one("SELECT pg_backend_pid()") == pid, "all of it in one backend", app.pid)
    for s in (app, other, admin, rr):
        s.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001  (reported as a failed check)
        T.check(False, "api_key_cache.py ran to the end", repr(e))
    sys.exit(T.summary())
