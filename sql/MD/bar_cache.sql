-- The per-backend bar cache of the backtest engine's bar loader (extension/src/bars.c; issue 16):
-- bounded by the setting quant.bar_cache_size (kB, default 256 MB, 0 = off; superuser-settable),
-- least recently used entries dropped to make room. What it holds and did, for this backend.
CREATE FUNCTION quant.bar_cache_stats(OUT entries integer, OUT max_entries integer, OUT bars bigint,
                                      OUT bytes bigint, OUT limit_bytes bigint, OUT hits bigint,
                                      OUT misses bigint, OUT evictions bigint)
AS 'MODULE_PATHNAME', 'quant_bar_cache_stats' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION quant.bar_cache_stats() IS
  'This backend''s bar cache (the bars of quant.backtest, optimize and the deployments'' evaluation): entries (ticker and interval series held) of max_entries, bars and bytes held, limit_bytes (the setting quant.bar_cache_size), and since the backend started: hits, misses (bars read from md.bar), evictions (entries dropped to make room).';

CREATE VIEW quant.bar_cache AS SELECT * FROM quant.bar_cache_stats();
COMMENT ON VIEW quant.bar_cache IS 'quant.bar_cache_stats() as a view: this backend''s bar cache, its size, bound, hits and misses.';
