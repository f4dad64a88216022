-- Ids: UUIDv7 (time-ordered, so new rows append to the primary key index).
CREATE FUNCTION quant.uuid_generate_v7() RETURNS uuid
AS 'MODULE_PATHNAME', 'quant_uuid_generate_v7'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION quant.uuid_generate_v7() IS
  'A new UUIDv7 (RFC 9562): Unix milliseconds, sub-millisecond time, random bits from pg_strong_random. Ids of every quant table.';
