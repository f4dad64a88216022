#!/usr/bin/env python3
"""Small helper for libpq connection strings (URI or key=value form); stdlib only.

    dburl.py setdb URL DBNAME   print URL pointing at database DBNAME instead
    dburl.py env URL            print `export PG...=...` lines for the URL's parameters
"""
import re
import shlex
import sys
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
    "password": "PGPASSWORD", "dbname": "PGDATABASE", "sslmode": "PGSSLMODE",
    "passfile": "PGPASSFILE", "options": "PGOPTIONS", "connect_timeout": "PGCONNECT_TIMEOUT",
    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "service": "PGSERVICE", "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def is_uri(url):
    return url.startswith(("postgresql://", "postgres://"))


def parse(url):
    """Return the connection parameters as a dict."""
    params = {}
    if is_uri(url):
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            cred, netloc = netloc.rsplit("@", 1)
            user, _, pw = cred.partition(":")
            if user:
                params["user"] = unquote(user)
            if pw:
                params["password"] = unquote(pw)
        if netloc:
            m = re.match(r"^(\[[^\]]*\]|[^:]*)(?::(\d+))?$", netloc)
            host, port = (m.group(1), m.group(2)) if m else (netloc, None)
            if host:
                params["host"] = unquote(host.strip("[]"))
            if port:
                params["port"] = port
        if parts.path and parts.path != "/":
            params["dbname"] = unquote(parts.path[1:])
        params.update(parse_qsl(parts.query, keep_blank_values=True))
    else:
        for m in re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)", url):
            val = m.group(2)
            if val.startswith("'"):
                val = re.sub(r"\\(.)", r"\1", val[1:-1])
            params[m.group(1)] = val
    return params


def keyword_string(params):
    def q(v):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return " ".join(f"{k}={q(v)}" for k, v in params.items())


def setdb(url, dbname):
    if is_uri(url):
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
        q = "&".join(f"{quote(k)}={quote(v, safe='/')}" for k, v in query)
        return f"{parts.scheme}://{parts.netloc}/{quote(dbname)}" + (f"?{q}" if q else "")
    params = parse(url)
    params["dbname"] = dbname
    return keyword_string(params)


def main(argv):
    if len(argv) == 4 and argv[1] == "setdb":
        print(setdb(argv[2], argv[3]))
    elif len(argv) == 3 and argv[1] == "env":
        for k, v in parse(argv[2]).items():
            if k in ENV:
                print(f"export {ENV[k]}={shlex.quote(v)}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
