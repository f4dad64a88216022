#!/usr/bin/env python3
"""quant-http: broker credentials (issue 12 part 2) over REST.

usage: test_credentials.py PATH/TO/quant-http      (test/http/run.sh prepares the database)
PUT /api/v1/broker_credentials stores (or rotates) a key and secret, GET lists them with a
fingerprint only, DELETE ?broker=&environment= removes them; every refusal names its field; one
user never sees another's; the OpenAPI document has the three operations. The secrets sent are
searched for in every answer and in the server's log: never there.
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last. Standard library only.
"""
import os
import secrets
import stat
import tempfile

import harness
from harness import Server, check, is_problem, psql

RUN = secrets.token_hex(4)
ALICE, BOB = f"http_cred_alice_{RUN}", f"http_cred_bob_{RUN}"
KEY1, KEY2 = f"HTTPKEY{RUN}A", f"HTTPKEY{RUN}B"
SECRET1 = f"s1-SeCrEt-{secrets.token_hex(16)}"
SECRET2 = f"s2-SeCrEt-{secrets.token_hex(16)}"
SECRET_BAD = f"s3-SeCrEt-{secrets.token_hex(16)}"
PATH = "/api/v1/broker_credentials"


def main():
    # the key file: outside the database, readable by the server process that seals
    keydir = tempfile.mkdtemp(prefix="quant_http_cred_")
    os.chmod(keydir, 0o755)
    keyfile = os.path.join(keydir, "credential.key")
    with open(keyfile, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(keyfile, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    alice = psql(f"SELECT quant.create_api_key('{ALICE}', 'http credentials test')")
    bob = psql(f"SELECT quant.create_api_key('{BOB}', 'http credentials test')")
    opts = (os.environ.get("PGOPTIONS", "") + f" -c quant.credential_key_file={keyfile}").strip()
    srv = Server("credentials", QUANT_HTTP_RATE=5000, QUANT_HTTP_BURST=10000, PGOPTIONS=opts)
    answers = []
    try:
        run(srv, alice, bob, answers)
    finally:
        rc = srv.stop() if srv.proc.poll() is None else srv.proc.returncode
        check("the server stopped cleanly", rc == 0, rc)
    log = srv.log_text()
    every = b"".join(a.body for a in answers).decode(errors="replace")
    check("every answer was looked at (> 10)", len(answers) > 10, len(answers))
    for name, s in (("first", SECRET1), ("rotated", SECRET2), ("refused", SECRET_BAD)):
        check(f"the {name} secret is in no answer", s not in every)
        check(f"the {name} secret is not in the server's log", s not in log and len(log) > 0)
    check("the server's log has the requests (so the search above looked at something)",
          "/api/v1/broker_credentials" in log, log[-300:])


def run(srv, alice, bob, answers):
    def req(method, path, body=None, key=None):
        r = srv.request(method, path, body=body, key=key)
        answers.append(r)
        return r

    body = {"broker": "BYBIT", "environment": "demo", "api_key": KEY1, "api_secret": SECRET1}
    r = req("PUT", PATH, body)
    check("PUT without a key: 401", is_problem(r, 401), r)
    r = req("PUT", PATH, body, alice)
    check("PUT stores it: 200", r.status == 200 and isinstance(r.json, dict), r)
    fp1 = (r.json or {}).get("fingerprint", "")
    check("...answers broker, environment, a key hint and a 16-hex fingerprint, rotated false",
          r.json and r.json.get("broker") == "BYBIT" and r.json.get("environment") == "demo"
          and len(fp1) == 16 and all(c in "0123456789abcdef" for c in fp1) and r.json.get("rotated") is False
          and KEY1 not in r.body.decode(), r)
    check("...and nothing named secret", r.json and not any("secret" in k for k in r.json), r)
    stored = psql(f"SELECT count(*) || '|' || min(fingerprint) FROM trade.broker_credential WHERE user_id = '{ALICE}'")
    check("the database holds one row with that fingerprint", stored == f"1|{fp1}", stored)
    clear = psql(f"SELECT count(*) FROM trade.broker_credential WHERE user_id = '{ALICE}' "
                 f"AND position(convert_to('{SECRET1}', 'UTF8') in ciphertext) > 0")
    check("...and not the secret in clear", clear == "0", clear)

    r = req("GET", PATH, key=alice)
    rows = r.json if isinstance(r.json, list) else []
    check("GET lists it: one row, demo, the same fingerprint",
          r.status == 200 and len(rows) == 1 and rows[0].get("environment") == "demo"
          and rows[0].get("fingerprint") == fp1 and rows[0].get("created_at"), r)
    check("...its fields are the documented ones (no secret, no ciphertext)",
          rows and set(rows[0]) == {"broker", "environment", "api_key_hint", "fingerprint", "created_at", "rotated_at"},
          rows)

    # rotate
    r = req("PUT", PATH, dict(body, api_key=KEY2, api_secret=SECRET2), alice)
    fp2 = (r.json or {}).get("fingerprint", "")
    check("PUT again rotates: rotated true, a new fingerprint",
          r.status == 200 and r.json.get("rotated") is True and len(fp2) == 16 and fp2 != fp1, r)
    r = req("GET", PATH, key=alice)
    rows = r.json if isinstance(r.json, list) else []
    check("GET after the rotation: still one row, the new fingerprint, rotated_at after created_at",
          len(rows) == 1 and rows[0].get("fingerprint") == fp2
          and str(rows[0].get("rotated_at")) > str(rows[0].get("created_at")), r)
    audit = psql(f"SELECT string_agg(action, ',' ORDER BY at, audit_id) FROM trade.audit WHERE user_id = '{ALICE}' "
                 f"AND entity = 'broker_credential'")
    check("the audit trail has set, rotated", audit == "set,rotated", audit)

    # refusals name their field, store nothing
    for desc, b, field in (
            ("an unknown environment", dict(body, environment="moon", api_secret=SECRET_BAD), "environment"),
            ("a broker that takes no credentials", dict(body, broker="PAPER", api_secret=SECRET_BAD), "broker"),
            ("a malformed API key", dict(body, api_key="has space", api_secret=SECRET_BAD), "api_key"),
            ("a secret with a space", dict(body, api_secret=SECRET_BAD + " x"), "api_secret")):
        r = req("PUT", PATH, b, alice)
        check(f"PUT with {desc}: 422 naming {field}", is_problem(r, 422, field), r)
    r = req("PUT", PATH, {"broker": "BYBIT", "environment": "demo", "api_key": KEY1}, alice)
    check("PUT without api_secret: 400/422 naming api_secret",
          r.status in (400, 422) and (r.json or {}).get("field") == "api_secret", r)
    r = req("PUT", PATH, dict(body, api_secret=SECRET_BAD, extra=1), alice)
    check("PUT with an unknown member: refused (4xx)", 400 <= r.status < 500, r)
    r = req("GET", PATH, key=alice)
    check("...the refusals changed nothing", isinstance(r.json, list) and len(r.json) == 1
          and r.json[0].get("fingerprint") == fp2, r)

    # another user
    r = req("GET", PATH, key=bob)
    check("bob sees none of alice's", r.status == 200 and r.json == [], r)
    r = req("DELETE", PATH + "?broker=BYBIT&environment=demo", key=bob)
    check("bob's DELETE deletes nothing (false)", r.status == 200 and r.json is False, r)
    r = req("GET", PATH, key=alice)
    check("...alice's is still there", isinstance(r.json, list) and len(r.json) == 1, r)

    # delete
    r = req("DELETE", PATH + "?broker=BYBIT", key=alice)
    check("DELETE without environment: 400 naming it", is_problem(r, 400, "environment"), r)
    r = req("DELETE", PATH + "?broker=BYBIT&environment=demo", key=alice)
    check("DELETE: true", r.status == 200 and r.json is True, r)
    r = req("DELETE", PATH + "?broker=BYBIT&environment=demo", key=alice)
    check("DELETE again: false", r.status == 200 and r.json is False, r)
    r = req("GET", PATH, key=alice)
    check("GET after the delete: empty", r.status == 200 and r.json == [], r)
    left = psql(f"SELECT count(*) FROM trade.broker_credential WHERE user_id = '{ALICE}'")
    check("...and the row is gone from the database", left == "0", left)

    # the OpenAPI document
    r = req("GET", "/api/v1/openapi.json")
    ops = (r.json or {}).get("paths", {}).get(PATH, {})
    check("OpenAPI: GET, PUT and DELETE on /api/v1/broker_credentials", {"get", "put", "delete"} <= set(ops), ops)
    props = (r.json or {}).get("components", {}).get("schemas", {}).get("BrokerCredential", {}).get("properties", {})
    check("OpenAPI: the listed credential has a fingerprint and no secret",
          "fingerprint" in props and not any("secret" in k for k in props), props)


if __name__ == "__main__":
    harness.run_main(main)
