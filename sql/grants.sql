-- Who may do what: every grant on the extension's tables and functions is made here, last (the
-- schemas' USAGE is in schemas.sql and roles.sql). sql/privileges.md lists the outcome object by
-- object, and test/pgtap/roles.sql checks the catalog against it both ways.
--
-- - No role but the owner reads or writes a table of users' rows. The API functions that reach
--   them are SECURITY DEFINER (search_path pinned) and act on quant.current_user_id() only.
-- - Shared data (bars, the catalog, the markets) is readable by everyone.
-- - SECURITY INVOKER functions stay executable by PUBLIC: they can do only what the caller's own
--   privileges allow. SECURITY DEFINER functions are executable only by the roles named below,
--   and so are the C functions that set the user, reach secrets or start workers (REVOKEd beside
--   them).

-- start from nothing: no table grants, no SECURITY DEFINER function for PUBLIC
REVOKE ALL ON ALL TABLES IN SCHEMA quant, md, refdata, bt, trade, paper FROM PUBLIC, quant_app, quant_worker, quant_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA quant, md, refdata, bt, trade, paper FROM quant_app, quant_worker, quant_admin;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
             JOIN pg_catalog.pg_extension e ON d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid
             WHERE e.extname = 'quant' AND d.deptype = 'e' AND p.prosecdef
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- PUBLIC: shared data
GRANT SELECT ON md.bar, md.bar_version, refdata.bar_interval, refdata.indicator, refdata.signal_func, refdata.market,
    refdata.broker, refdata.schedule, refdata.signal_status, refdata.order_status TO PUBLIC;

-- quant_app (the REST layer) and quant_admin: logging in, and the API on the current user's rows
GRANT EXECUTE ON FUNCTION
    quant.login_api_key(text),
    quant.create_strategy(jsonb), quant.update_strategy(uuid, jsonb), quant.list_strategies(), quant.get_strategy(uuid),
    quant.strategy_versions(uuid), quant.delete_strategy(uuid), quant.evaluate(uuid),
    quant.store_result(uuid, jsonb), quant.list_results(uuid),
    quant.set_ticker_mapping(text, text, text, text), quant.list_ticker_mappings(),
    quant.add_product(jsonb), quant.update_product(text, jsonb), quant.list_products(),
    quant.upload_bars(text, text, jsonb), quant.upload_bars_csv(text, text, text),
    quant.bars_page(text, text, text, timestamptz, timestamptz, integer, timestamptz),
    quant.upload_bars_any(text, text, jsonb, text),
    refdata.resolve_products(jsonb, text),
    quant.set_trade_password(text, text),
    quant.set_broker_credential(text, text, text, text), quant.list_broker_credentials(),
    quant.delete_broker_credential(text, text),
    quant.deploy(jsonb), quant.list_deployments(boolean), quant.get_deployment(uuid), quant.update_deployment(uuid, jsonb),
    quant.stop_deployment(uuid), quant.run_deployment(uuid), quant.deployment_signals(uuid), quant.deployment_trades(uuid),
    quant.deployment_orders(uuid), quant.deployment_position(uuid), quant.audit_trail(uuid),
    quant.revoke_api_key(uuid), quant.list_api_keys(boolean), trade.api_key_create_own(text),
    quant.flatten_deployment(uuid), quant.disable_all_deployments(), quant.trading_status(),
    quant.set_account_limits(jsonb), quant.account_limits(), quant.list_breakers(boolean), quant.reset_breaker(uuid)
  TO quant_app, quant_admin;
GRANT SELECT ON quant.deployments, quant.strategies TO quant_app, quant_admin;
-- the REST layer's former pipeline, until every quant-http calls quant.login_api_key
REVOKE ALL ON FUNCTION quant.authenticate_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.authenticate_api_key(text) TO quant_app;

-- people's logins (the web UI): quant_app opens, checks and ends sessions; quant_admin sets passwords
GRANT EXECUTE ON FUNCTION quant.login_person(text, text), quant.login_session(text), quant.logout_session(text)
  TO quant_app;
GRANT EXECUTE ON FUNCTION quant.set_person_password(text, text) TO quant_admin;

-- the live feed (sql/MD/feed.sql): its sources and fetch log for the REST layer; sources are
-- shared (like md.bar), so only administrators set them
GRANT EXECUTE ON FUNCTION quant.list_feeds(), quant.fetch_log(text, text, integer, bigint) TO quant_app, quant_admin;
GRANT EXECUTE ON FUNCTION quant.set_feed(text, text, text, text, text, boolean, integer, boolean) TO quant_admin;

-- quant_admin only: keys for any user (quant.create_api_key calls it for administrators)
GRANT EXECUTE ON FUNCTION trade.api_key_create_for(text, text) TO quant_admin;
-- quant_admin only: the halt of all trading (TRADE/kill_switch.sql)
GRANT EXECUTE ON FUNCTION quant.halt_trading(text), quant.resume_trading() TO quant_admin;

-- quant_worker: the live loop's executor and its paper broker, nothing else
GRANT EXECUTE ON FUNCTION
    trade.worker_claim(text, double precision, integer), trade.worker_open_orders(text, double precision),
    trade.worker_context(uuid, text), trade.worker_deployment_open_orders(uuid), trade.worker_credential(uuid),
    trade.worker_insert_intent(uuid, text, text, text, numeric, boolean, text),
    trade.worker_log(uuid, text, text, text, numeric, text), trade.worker_finish(uuid, text), trade.worker_release(uuid),
    trade.worker_record_outcome(text, text, text, numeric, numeric, numeric, text, text),
    trade.worker_send_gate(text), trade.worker_breaker_facts(uuid),
    trade.worker_trip_breaker(uuid, uuid, text, text, double precision, double precision, text),
    trade.worker_alert(text, jsonb), quant.trading_status(),
    paper.open_account(text, text, numeric, numeric, numeric),
    paper.place_order(text, text, text, text, numeric, text, numeric),
    paper.get_order(text), paper.get_orders(text), paper.get_position(text, text), paper.get_positions(text),
    paper.get_account(text)
  TO quant_worker;
-- quant-feed (worker/src/feed.cpp) runs as quant_worker too: claim, store, the deadline sweep
GRANT EXECUTE ON FUNCTION md.claim_fetch(text, double precision, integer),
    md.store_fetch(bigint, text, timestamp with time zone, integer, jsonb, text), quant.feed_deadline()
  TO quant_worker;
-- the bar cache's own figures (this backend's; issue 16)
GRANT SELECT ON quant.bar_cache TO PUBLIC;
