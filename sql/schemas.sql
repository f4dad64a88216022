-- The schemas of quant, all created here. The extension owns them; users work through the
-- quant.* functions.
CREATE SCHEMA quant;
CREATE SCHEMA md;
CREATE SCHEMA refdata;
COMMENT ON SCHEMA quant IS 'quant: the public SQL API (indicators, backtests, and later the Trade API)';
COMMENT ON SCHEMA md IS 'quant: market data (bars)';
COMMENT ON SCHEMA refdata IS 'quant: reference data (indicator and signal catalog, ticker mappings)';
GRANT USAGE ON SCHEMA quant, md, refdata TO PUBLIC;

CREATE SCHEMA bt;
CREATE SCHEMA trade;
COMMENT ON SCHEMA bt IS 'quant: strategies (versioned) and backtest results, one owner per row (user_id)';
COMMENT ON SCHEMA trade IS 'quant: deployments, the live gate, the audit trail, one owner per row (user_id)';

-- No grants: only quant-worker's gateway connection reaches the paper broker.
CREATE SCHEMA paper;
COMMENT ON SCHEMA paper IS 'quant: the embedded paper broker (accounts, orders, fills, positions); reached by quant-worker''s PaperAdapter';
