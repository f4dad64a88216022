#!/usr/bin/env bash
# COPY ingest into the partitioned md.bar (issue 17): N minute bars (default 1M) into an empty
# series through quant.load_bars_csv (server-side COPY + upsert), quant.upload_bars_csv (the REST
# upload: every row checked) and the feed's store path (build/worker/quant_feed_ingest_bench:
# binary COPY + md.store_fetch), each with md.bar's interval checked by bar_interval_check (as
# installed: `check`), and for comparison with the old foreign key to refdata.bar_interval added
# back (`fk`) and with the table of before issue 17 (`plain_fk`: one unpartitioned table with the
# foreign key, swapped in under the same name, same key and triggers). VARIANTS picks them.
# Runs against PG* (a superuser; a cluster where the extension is installed, e.g. a private one
# from /work/coord/private-pg.sh); creates and drops the database quant_bars_ingest.
#   PGHOST=127.0.0.1 PGPORT=55570 PGUSER=root bench/bars_ingest.sh [N=1000000]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-1000000}
db=quant_bars_ingest
csv=/tmp/quant_bars_ingest_$$.csv
trap 'rm -f "$csv"' EXIT
t() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
for variant in ${VARIANTS:-check fk plain_fk}; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    psql -X -q -d $db -c "SET client_min_messages = warning" -c "CREATE EXTENSION quant CASCADE" -c "SELECT quant.set_user('bench')" >/dev/null
    if [ $variant = fk ]; then
        psql -X -q -d $db -c "ALTER TABLE md.bar ADD CONSTRAINT bar_interval_fkey FOREIGN KEY (interval) REFERENCES refdata.bar_interval (name)"
    elif [ $variant = plain_fk ]; then
        psql -X -q -d $db -v ON_ERROR_STOP=1 <<'SQL'
ALTER TABLE md.bar RENAME TO bar_partitioned;
ALTER TABLE md.bar_partitioned RENAME CONSTRAINT bar_pkey TO bar_partitioned_pkey;
CREATE TABLE md.bar (
    ticker text NOT NULL CHECK (ticker <> ''), ts timestamptz NOT NULL, open double precision, high double precision,
    low double precision, close double precision NOT NULL, volume double precision,
    interval text NOT NULL DEFAULT '1d' REFERENCES refdata.bar_interval (name),
    CONSTRAINT bar_pkey PRIMARY KEY (ticker, interval, ts));
CREATE TRIGGER bar_version_insert AFTER INSERT ON md.bar
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_update AFTER UPDATE ON md.bar
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
SQL
    fi
    # the CSV is written by the server (COPY TO): a sine-shaped close, high/low 0.1 % around it
    psql -X -q -d $db -c "COPY (SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS date, c AS open, c * 1.001 AS high, c * 0.999 AS low, c AS close, 10 AS volume
                     FROM (SELECT timestamptz '2022-01-01 00:00+00' + make_interval(mins => i) AS ts,
                                  100 + 10 * sin(i / 5000.0) AS c FROM generate_series(0, $n - 1) i) s)
               TO '$csv' WITH (FORMAT csv, HEADER true)"
    a=$(t psql -X -q -d $db -c "SELECT quant.load_bars_csv('BENCH', '$csv', '1m')")
    b=$(t psql -X -q -d $db -c "SELECT quant.set_user('bench')" -c "SELECT quant.upload_bars_csv('BENCH2', '1m', pg_read_file('$csv'))")
    f=$(QUANT_WORKER_STATEMENT_TIMEOUT_MS=600000 DB_URL="postgresql://${PGUSER:-$USER}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$db" "$repo/build/worker/quant_feed_ingest_bench" "$n" 2>&1 | tr '\n' ' ' || true)
    echo "$variant: $n minute bars: load_bars_csv $a s ($(echo "$n / $a" | bc) bars/s), upload_bars_csv $b s ($(echo "$n / $b" | bc) bars/s); feed: $f"
    psql -X -At -d $db -c "SELECT count(*) || ' bars in ' || count(DISTINCT tableoid) || ' tables' FROM md.bar"
done
psql -X -q -d postgres -c "DROP DATABASE $db WITH (FORCE)"
