#include "processor.hpp"

#include <chrono>
#include <cmath>
#include <csignal>

#include "credential.hpp"
#include "quant/deployment_config.hpp"
#include "quant/error.hpp"
#include "quant/pq/log.hpp"
#include "quant/pq/pipeline.hpp"
#include "quant/trading.hpp"

namespace quant::worker {
namespace {

using Clock = std::chrono::steady_clock;
using pq::log_error;
using pq::log_info;
using pq::log_warn;
using pq::Param;

std::optional<double> json_double(const quant::Json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number())
        return std::nullopt;
    return it->get<double>();
}

int json_int(const quant::Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int>() : 0;
}

std::string json_string(const quant::Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Param finish_param(quant::SignalFinish f) {
    if (f == quant::SignalFinish::none)
        return std::nullopt;
    return std::string(quant::signal_finish_name(f));
}

constexpr const char* kContextSql =
    "SELECT (c - 'qty')::text AS facts, c->>'qty' AS qty FROM trade.worker_context($1, $2) AS t(c)";
constexpr const char* kBreakerFactsSql = "SELECT trade.worker_breaker_facts($1)::text";
// the claim; it leaves the claimed signal's id (or '') in quant.worker_claimed_signal for the
// next statement of its round trip
constexpr const char* kClaimSql =
    "SELECT signal_id, user_id, attempts, deployment_id, "
    "CASE WHEN signal_id IS NOT NULL THEN pg_catalog.set_config('quant.user', user_id, false) END AS owner, "
    "pg_catalog.set_config('quant.worker_claimed_signal', coalesce(signal_id::text, ''), false) AS claimed "
    "FROM trade.worker_claim($1, $2, $3)";
// kContextSql of the signal just claimed, and its deployment's breaker facts
constexpr const char* kClaimedContextSql =
    "SELECT (c - 'qty')::text AS facts, c->>'qty' AS qty, "
    "trade.worker_breaker_facts((c->>'deployment_id')::uuid)::text AS breaker_facts "
    "FROM trade.worker_context(nullif(pg_catalog.current_setting('quant.worker_claimed_signal'), '')::uuid, "
    "'') "
    "AS t(c)";
constexpr const char* kInsertIntentSql =
    "SELECT order_id FROM trade.worker_insert_intent($1, $2, $3, $4, $5::numeric, $6, $7)";
constexpr const char* kRecordOutcomeSql =
    "SELECT status FROM trade.worker_record_outcome($1, $2, $3, $4::numeric, $5::numeric, $6::numeric, $7, "
    "$8)";

// A pipeline's first error, thrown as the statement alone would have thrown it.
void throw_on_error(const pq::Pipeline::Outcome& o) {
    if (o.error)
        throw *o.error;
}

// The columns of trade."order" the reconciliation reads.
constexpr const char* kOpenOrderColumns =
    "client_order_id, deployment_id, signal_id, user_id, status, symbol, side, qty::text AS qty, broker";

}  // namespace

void Processor::crash_point(const char* where) const {
    if (cfg_.crash_at == where) {
        log_warn("crash_hook", {{"at", where}, {"note", "QUANT_WORKER_CRASH_AT (test only): SIGKILL now"}});
        std::raise(SIGKILL);
    }
}

void Processor::set_user(const std::string& user_id) {
    work_.exec_prepared("worker_set_user", "SELECT pg_catalog.set_config('quant.user', $1, false)",
                        {user_id});
}

Processor::Context Processor::context(const std::string& signal_id, const std::string& leg) {
    return context_of(work_.exec_prepared("worker_context", kContextSql, {signal_id, leg}));
}

Processor::Context Processor::context_of(const pq::Result& r) {
    Context out;
    if (r.rows() != 1 || r.is_null(0, 0))
        return out;
    out.facts = quant::parse_json(r.view(0, 0));
    if (const auto q = r.opt(0, 1))
        out.qty = pq::parse_double(*q);
    return out;
}

std::vector<Processor::OpenOrder> Processor::open_orders(const pq::Result& r) const {
    std::vector<OpenOrder> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back({r.get(i, "client_order_id"), r.get(i, "deployment_id"), r.get(i, "signal_id"),
                       r.get(i, "user_id"), r.get(i, "status"), r.get(i, "symbol"), r.get(i, "side"),
                       r.get(i, "broker"), r.get_double(i, "qty").value_or(0.0)});
    }
    return out;
}

std::unique_ptr<quant::TradeAdapter> Processor::adapter_for(const std::string& broker,
                                                            const std::string& deployment_id,
                                                            const std::string& user_id,
                                                            const std::string& symbol) {
    if (broker == "PAPER")
        return std::make_unique<PaperAdapter>(paper_, deployment_id, user_id, cfg_);
    if (broker == "BYBIT")
        return bybit_adapter(deployment_id, user_id, symbol);
    if (broker == "FUTU")
        return futu_adapter(deployment_id, user_id, symbol);
    return nullptr;
}

std::unique_ptr<quant::TradeAdapter> Processor::bybit_adapter(const std::string& deployment_id,
                                                              const std::string& user_id,
                                                              const std::string& symbol) {
    namespace bb = quant::bybit;
    const pq::Result r = work_.exec_prepared("worker_credential",
                                             "SELECT environment, category, api_key, encode(nonce, 'hex') AS "
                                             "nonce, encode(ciphertext, 'hex') AS ciphertext, "
                                             "booked_qty::text AS booked_qty "
                                             "FROM trade.worker_credential($1)",
                                             {deployment_id});
    auto refuse = [&](const std::string& why) -> std::unique_ptr<quant::TradeAdapter> {
        log_warn("bybit_unavailable", {{"deployment_id", deployment_id}, {"reason", why}});
        return nullptr;
    };
    if (cfg_.bybit_off)
        return refuse("QUANT_BYBIT_BASE_URL=off (make run's default): no Bybit host is reached");
    if (r.rows() != 1)
        return refuse("the deployment is not visible to its user");
    const std::string environment = r.get(0, "environment");
    const auto env = bb::parse_environment(environment);
    const auto category = bb::parse_category(r.get(0, "category"));
    if (!env || !category)
        return refuse("environment " + environment + " or category " + r.get(0, "category") + " is unknown");
    if (r.is_null(0, r.column("api_key")))
        return refuse("no credentials for the " + environment + " environment (quant.set_broker_credential)");
    if (cfg_.credential_key_file.empty())
        return refuse("QUANT_CREDENTIAL_KEY_FILE is not set: the credentials cannot be opened");
    bb::Target target;
    target.category = *category;
    target.symbol = symbol;
    target.api_key = r.get(0, "api_key");
    target.booked_qty = r.get_double(0, "booked_qty").value_or(0.0);
    try {
        const CredentialKey key = load_credential_key(cfg_.credential_key_file);
        target.api_secret =
            open_credential(key, from_hex(r.get(0, "nonce")), from_hex(r.get(0, "ciphertext")), user_id,
                            "BYBIT", environment, target.api_key);
    } catch (const std::runtime_error& e) {
        return refuse(e.what());
    }
    const auto env_url = cfg_.bybit_env_base_url.find(environment);
    const std::string base = env_url != cfg_.bybit_env_base_url.end() ? env_url->second
                             : cfg_.bybit_base_url.empty() ? std::string(bb::default_base_url(*env))
                                                           : cfg_.bybit_base_url;
    auto& gw = bybit_[base];
    if (!gw) {
        bb::Settings s;
        s.base_url = base;
        s.recv_window_ms = cfg_.bybit_recv_window_ms;
        s.connect_timeout_ms = cfg_.bybit_connect_timeout_ms;
        s.timeout_ms = cfg_.bybit_timeout_ms;
        s.follow_ms = cfg_.bybit_follow_ms;
        s.poll_ms = cfg_.bybit_poll_ms;
        gw = std::make_unique<bb::BybitGateway>(s);
    }
    auto adapter = std::make_unique<bb::BybitAdapter>(*gw, std::move(target));
    // partial fills are booked as they arrive (each new part: a fill with its own price and fee)
    adapter->on_progress = [this](const quant::OrderResult& part) {
        record_outcome(part.client_order_id, part, quant::SignalFinish::none);
    };
    return adapter;
}

std::unique_ptr<quant::TradeAdapter> Processor::futu_adapter(const std::string& deployment_id,
                                                             const std::string& user_id,
                                                             const std::string& symbol) {
    namespace ft = quant::futu;
    auto refuse = [&](const std::string& why) -> std::unique_ptr<quant::TradeAdapter> {
        log_warn("futu_unavailable", {{"deployment_id", deployment_id}, {"reason", why}});
        return nullptr;
    };
    if (cfg_.futu_opend == "off")
        return refuse("QUANT_FUTU_OPEND=off: no OpenD is reached");
    const pq::Result r = work_.exec_prepared("worker_credential",
                                             "SELECT environment, category, api_key, encode(nonce, 'hex') AS "
                                             "nonce, encode(ciphertext, 'hex') AS ciphertext "
                                             "FROM trade.worker_credential($1)",
                                             {deployment_id});
    if (r.rows() != 1)
        return refuse("the deployment is not visible to its user");
    const std::string environment = r.get(0, "environment");
    ft::Target target;
    target.symbol = symbol;
    target.env = environment == "real" ? ft::Env::real : ft::Env::simulate;
    if (environment != "real" && environment != "simulate")
        return refuse("environment " + environment + " (simulate or real)");
    if (!r.is_null(0, r.column("api_key"))) {
        const std::string account = r.get(0, "api_key");
        if (account != "default" && !account.empty())
            target.acc_id = std::stoull(account);  // digits (the credential store checks them)
        if (target.env == ft::Env::real) {
            if (cfg_.credential_key_file.empty())
                return refuse("QUANT_CREDENTIAL_KEY_FILE is not set: the trade password cannot be opened");
            try {
                const CredentialKey key = load_credential_key(cfg_.credential_key_file);
                target.trade_password =
                    open_credential(key, from_hex(r.get(0, "nonce")), from_hex(r.get(0, "ciphertext")),
                                    user_id, "FUTU", environment, account);
            } catch (const std::runtime_error& e) {
                return refuse(e.what());
            }
        }
    } else if (target.env == ft::Env::real) {
        return refuse("no trade password for the real environment (quant.set_broker_credential)");
    }
    try {
        (void)ft::parse_symbol(symbol);
    } catch (const std::invalid_argument& e) {
        return refuse(e.what());
    }
    if (!futu_) {
        ft::Settings s = ft::parse_opend_address(cfg_.futu_opend);
        s.timeout_ms = cfg_.futu_timeout_ms;
        s.follow_ms = cfg_.futu_follow_ms;
        s.poll_ms = cfg_.futu_poll_ms;
        s.place_per_30s = cfg_.futu_place_per_30s;
        std::string list = cfg_.futu_fractional_accounts;
        for (std::size_t at = 0; at < list.size();) {
            const std::size_t comma = std::min(list.find(',', at), list.size());
            const std::string item = list.substr(at, comma - at);
            if (item.find_first_of("0123456789") != std::string::npos)
                s.fractional_accounts.insert(std::stoull(item));
            at = comma + 1;
        }
        futu_ = std::make_unique<ft::FutuGateway>(s);
    }
    return std::make_unique<ft::FutuAdapter>(*futu_, std::move(target));
}

void Processor::log_row(const std::string& signal_id, const char* action, const std::string& reason,
                        const std::string& message, std::optional<double> qty, quant::SignalFinish finish) {
    work_.exec_prepared("worker_log", "SELECT trade.worker_log($1, $2, $3, $4, $5::numeric, $6)",
                        {signal_id, std::string(action), reason.empty() ? Param() : Param(reason), message,
                         qty ? Param(format_number(*qty)) : Param(), finish_param(finish)});
}

pq::Params Processor::outcome_params(const std::string& client_order_id, const quant::OrderResult& r,
                                     quant::SignalFinish finish) {
    std::string status(quant::order_state_name(r.state));
    if (r.state == quant::OrderState::new_order)
        status = "SENT";  // acknowledged, not final
    std::string message = r.message;
    if (r.state == quant::OrderState::filled) {
        message = std::string(quant::side_name(r.side)) + " " + format_number(r.filled_qty) + " " + r.symbol +
                  " @ " + format_number(r.avg_price) + " (fee " + format_number(r.fee) + ")";
    } else if (message.empty()) {
        message = "broker answered " + status;
    }
    return {client_order_id,
            status,
            r.broker_order_id.empty() ? Param() : Param(r.broker_order_id),
            format_number(r.filled_qty),
            r.avg_price > 0 ? Param(format_number(r.avg_price)) : Param(),
            format_number(r.fee),
            message,
            finish_param(finish)};
}

void Processor::record_outcome(const std::string& client_order_id, const quant::OrderResult& r,
                               quant::SignalFinish finish) {
    work_.exec("BEGIN");
    work_.exec_prepared("worker_record_outcome", kRecordOutcomeSql,
                        outcome_params(client_order_id, r, finish));
    crash_point("before_outcome");
    work_.exec("COMMIT");
}

std::optional<pq::Result> Processor::close_gate_and_record(const std::string& client_order_id,
                                                           const quant::OrderResult& r,
                                                           quant::SignalFinish finish,
                                                           const std::string& breaker_deployment_id) {
    // the test hooks between these steps need them apart
    if (cfg_.crash_at == "after_send" || cfg_.crash_at == "before_outcome") {
        close_send_gate();
        crash_point("after_send");
        record_outcome(client_order_id, r, finish);
        return std::nullopt;
    }
    // one round trip: the send gate's COMMIT, the outcome in its own transaction, and the
    // breakers' facts after it (what check_breakers would read next)
    pq::Pipeline::Outcome o;
    std::size_t facts = 0;
    {
        pq::Pipeline p(work_);
        p.add("COMMIT");
        p.add("BEGIN");
        p.add_prepared("worker_record_outcome", kRecordOutcomeSql,
                       outcome_params(client_order_id, r, finish));
        p.add("COMMIT");
        if (!breaker_deployment_id.empty())
            facts = p.add_prepared("worker_breaker_facts", kBreakerFactsSql, {breaker_deployment_id});
        o = p.run();
    }
    throw_on_error(o);
    if (breaker_deployment_id.empty())
        return std::nullopt;
    return std::move(o.results[facts]);
}

void Processor::mark(const std::string& client_order_id, const char* status, const std::string& message) {
    work_.exec_prepared("worker_mark",
                        "SELECT status FROM trade.worker_record_outcome($1, $2, NULL, 0, NULL, 0, $3, NULL)",
                        {client_order_id, std::string(status), message});
}

bool Processor::process_next() {
    // One round trip: the claim, committed without waiting for the WAL flush (a claim lost in a
    // crash is only claimed again; the intent, committed synchronously, is what guards a send),
    // with the session's user set to the signal's owner in the same statement (RLS: the worker
    // acts as the owner); then, after its COMMIT, the claimed signal's facts and its breakers'
    // facts (kClaimedContextSql; the claim leaves its id in quant.worker_claimed_signal).
    pq::Pipeline::Outcome o;
    std::size_t claim = 0;
    std::size_t facts = 0;
    {
        pq::Pipeline p(work_);
        p.add("BEGIN");
        p.add("SET LOCAL synchronous_commit = off");
        claim =
            p.add_prepared("worker_claim_as_owner", kClaimSql,
                           {cfg_.worker_id, format_number(cfg_.lease_s), std::to_string(cfg_.max_attempts)});
        p.add("COMMIT");
        facts = p.add_prepared("worker_claimed_context", kClaimedContextSql);
        o = p.run();
    }
    if (o.error && o.failed_step < facts)
        throw *o.error;
    const pq::Result& r = o.results[claim];
    if (r.rows() == 0 || r.is_null(0, 0))
        return false;
    const std::string signal_id = r.get(0, "signal_id");
    log_info("signal_claimed", {{"signal_id", signal_id},
                                {"user", r.get(0, "user_id")},
                                {"attempt", r.get_int(0, "attempts").value_or(0)}});
    crash_point("after_claim");
    process_signal(signal_id, r.get(0, "user_id"), r.get(0, "deployment_id"),
                   o.error ? nullptr : &o.results[facts]);
    return true;
}

void Processor::process_signal(const std::string& signal_id, const std::string& user_id,
                               const std::string& claimed_deployment_id, const pq::Result* first) {
    const auto t0 = Clock::now();
    // the claim set the session's user to the signal's owner (RLS: the worker acts as the owner)
    auto refuse = [&](const std::string& code, const std::string& message, std::optional<double> q,
                      quant::SignalFinish finish, const std::string& deployment_id) {
        log_row(signal_id, "REJECTED", code, message, q, finish);
        log_info("signal_rejected", {{"signal_id", signal_id},
                                     {"deployment_id", deployment_id},
                                     {"code", code},
                                     {"message", message},
                                     {"ms", ms_since(t0)}});
        if (code == "unknown_position" || code == "paused")  // alerts (safety.cpp)
            alert(code == "paused" ? "repeated_rejects" : code,
                  {{"signal_id", signal_id}, {"deployment_id", deployment_id}, {"message", message}});
    };
    Context ctx;
    // the signal's facts and its breakers' facts (column 2), read in the claim's round trip
    pq::Result read;
    if (first == nullptr) {
        read = work_.exec_prepared("worker_context", kContextSql, {signal_id, ""});  // thrown
        first = &read;
    }
    const pq::Result* breaker_facts = first->columns() > 2 ? first : nullptr;
    try {
        ctx = context_of(*first);
    } catch (const quant::Error& e) {
        // facts that cannot be read are refused once, never retried
        refuse("invalid_context", std::string("the signal's facts cannot be read: ") + e.what(), std::nullopt,
               quant::SignalFinish::rejected, "");
        return;
    }
    if (ctx.facts.is_null()) {
        log_warn("signal_vanished", {{"signal_id", signal_id}});
        return;
    }
    const std::string deployment_id = json_string(ctx.facts, "deployment_id");
    const std::string symbol = json_string(ctx.facts, "symbol");
    const std::string broker = json_string(ctx.facts, "broker");

    // the adapter: connecting is the connection check
    auto adapter = adapter_for(broker, deployment_id, user_id, symbol);
    bool connected = false;
    if (adapter) {
        try {
            adapter->connect();
            connected = true;
        } catch (const quant::BrokerError& e) {
            log_warn("broker_unreachable", {{"signal_id", signal_id}, {"error", e.what()}});
        }
    }
    // orders of this deployment left open (a crash, a lost connection): resolve them first
    if (connected && !ctx.facts["open_orders"].empty()) {
        const pq::Result open =
            work_.exec_prepared("worker_deployment_open_orders",
                                std::string("SELECT ") + kOpenOrderColumns +
                                    " FROM trade.worker_open_orders($1, $2) WHERE deployment_id = $3 AND "
                                    "status IN ('NEW', 'SENT')",
                                {cfg_.worker_id, format_number(cfg_.lease_s), deployment_id});
        for (const OpenOrder& o : open_orders(open))
            reconcile_order(*adapter, o);
        ctx = context(signal_id, "");
        breaker_facts = nullptr;  // the reconciliation may have booked fills
    }

    quant::RiskLimits limits;
    try {
        limits = quant::parse_risk_limits(ctx.facts["risk_limits"]);
    } catch (const std::exception& e) {
        log_row(signal_id, "REJECTED", "invalid_risk_limits", std::string("risk_limits: ") + e.what(),
                std::nullopt, quant::SignalFinish::rejected);
        log_warn("signal_rejected",
                 {{"signal_id", signal_id}, {"code", "invalid_risk_limits"}, {"error", e.what()}});
        return;
    }
    double signal = json_double(ctx.facts, "signal").value_or(std::nan(""));
    // spot cannot be shorted without margin: -1 means flat there (logged)
    if (const auto* bybit = dynamic_cast<const quant::bybit::BybitAdapter*>(adapter.get());
        bybit != nullptr && bybit->category() == quant::bybit::Category::spot && signal < 0) {
        log_info("spot_no_short", {{"signal_id", signal_id},
                                   {"deployment_id", deployment_id},
                                   {"signal", signal},
                                   {"note", "spot has no shorting without margin: the target is flat (0)"}});
        signal = 0;
    }

    // the broker's half of the facts: cash and the position (authoritative)
    std::optional<double> cash;
    std::optional<double> position;
    auto gather = [&]() {
        cash.reset();
        position.reset();
        if (!adapter || !connected)
            return;
        try {
            cash = adapter->get_account_info().cash;
            position = quant::position_in(adapter->get_positions(), symbol);
        } catch (const quant::BrokerError& e) {
            connected = false;
            log_warn("broker_unreachable", {{"signal_id", signal_id}, {"error", e.what()}});
        }
    };
    gather();
    if (deployment_id != claimed_deployment_id)
        breaker_facts = nullptr;
    // a breaker tripped: re-read the deployment's facts
    if (check_breakers(signal_id, deployment_id, breaker_facts, 2))
        ctx = context(signal_id, "");
    auto facts_of = [&](const quant::Json& c) {
        quant::RiskFacts f;
        f.enabled = c.value("enabled", false);
        f.halted = c.value("halted", true);  // missing: fail closed
        f.breaker = json_string(c, "breaker");
        f.broker_connected = connected;
        f.already_acted = c.value("leg_acted", false);
        f.price = json_double(c, "price");
        f.price_symbol = json_string(c, "price_symbol");  // the checks refuse any but the traded symbol's
        f.symbol = symbol;
        f.cash = cash;
        // an order in doubt makes the position unknown: fail closed
        f.position = c["open_orders"].empty() ? position : std::nullopt;
        f.trades_today = json_int(c, "trades_today");
        f.orders_last_minute = json_int(c, "orders_last_minute");
        f.consecutive_rejects = json_int(c, "consecutive_rejects");
        return f;
    };

    const int signal_orders = json_int(ctx.facts, "signal_orders");
    const quant::SignalStart start =
        quant::start_signal(signal, ctx.qty, limits, facts_of(ctx.facts), signal_orders);
    switch (start.kind) {
        case quant::SignalStart::Kind::reject:
            refuse(start.code, start.message, std::nullopt, quant::SignalFinish::rejected, deployment_id);
            return;
        case quant::SignalStart::Kind::finished:
            // taken up again after a crash: its orders are booked, the position is at target
            work_.exec_prepared("worker_finish", "SELECT trade.worker_finish($1, $2)", {signal_id, "DONE"});
            log_info("signal_done",
                     {{"signal_id", signal_id}, {"note", "already acted on"}, {"ms", ms_since(t0)}});
            return;
        case quant::SignalStart::Kind::hold:
            log_row(signal_id, "HOLD", "",
                    "position " + format_number(*position) + " is already at signal x qty", 0.0,
                    quant::SignalFinish::done);
            log_info("signal_hold",
                     {{"signal_id", signal_id}, {"deployment_id", deployment_id}, {"ms", ms_since(t0)}});
            return;
        case quant::SignalStart::Kind::trade:
            break;
    }

    bool any_done = signal_orders > 0;
    const auto& plan = start.legs;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto& leg = plan[i];
        const bool last = i + 1 == plan.size();
        if (i > 0)
            gather();  // the previous leg moved cash and position
        // the first leg of a signal with no orders yet: ctx (read after this worker's last
        // change) is the leg's facts: no leg acted, and one signal of a deployment at a time,
        // so no other order of it came since; the send gate checks the halt, the switches and
        // the breakers again
        const Context c = i == 0 && signal_orders == 0 ? ctx : context(signal_id, leg.leg);
        const auto decision = quant::check_order(leg, limits, facts_of(c.facts));
        if (!decision.allowed) {
            refuse(decision.code,
                   decision.message + " (" + std::string(quant::side_name(leg.side)) + " " +
                       format_number(leg.qty) + " " + symbol + ", " + leg.leg + " leg)",
                   leg.qty, quant::finish_after_block(any_done), deployment_id);
            return;
        }
        const std::string coid = quant::client_order_id(deployment_id, signal_id, leg.leg);
        const pq::Params intent = {signal_id,
                                   leg.leg,
                                   coid,
                                   std::string(quant::side_name(leg.side)),
                                   format_number(leg.qty),
                                   leg.reduce_only ? "true" : "false",
                                   cfg_.worker_id};
        const auto log_intent = [&] {
            log_info("order_intent", {{"signal_id", signal_id},
                                      {"client_order_id", coid},
                                      {"side", quant::side_name(leg.side)},
                                      {"qty", leg.qty},
                                      {"leg", leg.leg}});
        };
        const auto duplicate = [&] {
            refuse("duplicate", "an order with client id " + coid + " exists already (duplicate guard)",
                   leg.qty, quant::finish_after_block(any_done), deployment_id);
        };
        bool gate_open = false;
        if (cfg_.crash_at == "after_intent") {
            // the test hook between the intent and the gate needs them apart
            try {
                work_.exec("BEGIN");
                work_.exec("SET LOCAL synchronous_commit = on");
                work_.exec_prepared("worker_insert_intent", kInsertIntentSql, intent);
                work_.exec("COMMIT");
            } catch (const pq::SqlError& e) {
                work_.rollback_quietly();
                if (e.sqlstate != "23505")
                    throw;
                duplicate();
                return;
            }
            log_intent();
            crash_point("after_intent");
            gate_open = open_send_gate(coid);
        } else {
            // one round trip: the intent, durable BEFORE the send (its own transaction, committed
            // with synchronous_commit = on), then BEGIN and the send gate, whose transaction
            // stays open over the send. After an error the server skips the rest.
            pq::Pipeline::Outcome o;
            std::size_t intent_step = 0;
            std::size_t gate_step = 0;
            {
                pq::Pipeline p(work_);
                p.add("BEGIN");
                p.add("SET LOCAL synchronous_commit = on");
                intent_step = p.add_prepared("worker_insert_intent", kInsertIntentSql, intent);
                p.add("COMMIT");
                p.add("BEGIN");
                gate_step = p.add_prepared("worker_send_gate", kSendGateSql, {coid});
                p.keep_transaction();
                o = p.run();
            }
            if (o.error) {
                work_.rollback_quietly();
                if (o.error->sqlstate != "23505" || o.failed_step != intent_step)
                    throw *o.error;
                duplicate();
                return;
            }
            log_intent();
            gate_open = send_gate_answer(coid, o.results[gate_step]);
        }
        if (!gate_open)
            return;  // halted, disabled or a breaker since the checks: REJECTED, never sent
        const auto ts = Clock::now();
        const quant::OrderResult res =
            adapter->place_order(symbol, leg.qty, leg.side, coid);  // BrokerError: in doubt
        const double send_ms = ms_since(ts);
        // the breakers' facts after the fill come in the same round trip when a next leg may follow
        const std::optional<pq::Result> after =
            close_gate_and_record(coid, res, quant::finish_after_answer(res.state, last, any_done),
                                  quant::next_leg_allowed(res.state) ? deployment_id : std::string());
        log_info("order_result", {{"signal_id", signal_id},
                                  {"client_order_id", coid},
                                  {"status", quant::order_state_name(res.state)},
                                  {"filled_qty", res.filled_qty},
                                  {"price", res.avg_price},
                                  {"message", res.message},
                                  {"send_ms", send_ms},
                                  {"ms", ms_since(t0)}});
        if (!quant::next_leg_allowed(res.state))
            return;  // open at the broker (reconciliation finishes it) or refused
        any_done = true;
        // a fill moved the P&L: the next leg sees a trip
        check_breakers(signal_id, deployment_id, after ? &*after : nullptr);
    }
}

void Processor::reconcile_order(quant::TradeAdapter& adapter, const OpenOrder& o) {
    const auto found = adapter.order_by_client_id(o.client_order_id);
    if (found) {
        // terminal, or open with parts filled (booked now: the parts so far)
        if (quant::is_terminal(found->state) || found->filled_qty > 0) {
            record_outcome(o.client_order_id, *found, quant::SignalFinish::none);
        } else if (o.status != "SENT") {
            mark(o.client_order_id, "SENT", "open at the broker");
        }
        log_info("reconciled", {{"client_order_id", o.client_order_id},
                                {"was", o.status},
                                {"broker", quant::order_state_name(found->state)}});
        return;
    }
    if (o.status == "NEW") {
        // committed but never reached the broker: send it now, under the same client id, unless
        // a kill switch or a breaker says no since (the last check before a send)
        if (!open_send_gate(o.client_order_id)) {
            log_info("reconciled",
                     {{"client_order_id", o.client_order_id}, {"was", "NEW"}, {"action", "refused"}});
            return;
        }
        const auto side = o.side == "SELL" ? quant::Side::sell : quant::Side::buy;
        const auto res = adapter.place_order(o.symbol, o.qty, side, o.client_order_id);
        close_send_gate();
        record_outcome(o.client_order_id, res, quant::SignalFinish::none);
        log_info("reconciled", {{"client_order_id", o.client_order_id},
                                {"was", "NEW"},
                                {"action", "sent now"},
                                {"broker", quant::order_state_name(res.state)}});
        return;
    }
    if (o.status != "UNKNOWN") {
        mark(o.client_order_id, "UNKNOWN",
             "the broker does not know this " + o.status + " order (fail closed)");
    }
    log_error("reconcile_unknown", {{"client_order_id", o.client_order_id},
                                    {"was", o.status},
                                    {"note", "the broker has no such order; the deployment stays blocked"}});
}

void Processor::reconcile_all() {
    const pq::Result r = work_.exec_prepared(
        "worker_open_orders",
        std::string("SELECT ") + kOpenOrderColumns + " FROM trade.worker_open_orders($1, $2)",
        {cfg_.worker_id, format_number(cfg_.lease_s)});
    int resolved = 0;
    for (const OpenOrder& o : open_orders(r)) {
        set_user(o.user_id);
        auto adapter = adapter_for(o.broker, o.deployment_id, o.user_id, o.symbol);
        if (!adapter) {
            log_error("reconcile_no_adapter", {{"client_order_id", o.client_order_id}, {"broker", o.broker}});
            continue;
        }
        adapter->connect();  // BrokerError: the caller reconnects and tries again
        reconcile_order(*adapter, o);
        ++resolved;
        // hand the signal back so that it is finished now rather than after the lease
        work_.exec_prepared("worker_hand_back", "SELECT trade.worker_release($1)", {o.signal_id});
    }
    log_info("reconcile_done", {{"open_orders", r.rows()}, {"resolved", resolved}});
}

}  // namespace quant::worker
