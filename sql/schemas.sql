-- The schemas of quant. The extension owns them; users work through the quant.* functions.
CREATE SCHEMA quant;
CREATE SCHEMA md;
CREATE SCHEMA refdata;
COMMENT ON SCHEMA quant IS 'quant: the public SQL API (indicators, backtests, and later the Trade API)';
COMMENT ON SCHEMA md IS 'quant: market data (bars)';
COMMENT ON SCHEMA refdata IS 'quant: reference data (indicator and signal catalog, ticker mappings)';
GRANT USAGE ON SCHEMA quant, md, refdata TO PUBLIC;
