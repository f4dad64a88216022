#include "pool.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <iostream>
#include <iterator>

namespace quant::http {

namespace {

struct ResultGuard {
    PGresult* r;
    ~ResultGuard() { PQclear(r); }
};

SqlError error_of(const PGresult* r, const pg_conn* c) {
    SqlError e;
    auto field = [&](int code) {
        const char* v = r != nullptr ? PQresultErrorField(r, code) : nullptr;
        return std::string(v != nullptr ? v : "");
    };
    e.sqlstate = field(PG_DIAG_SQLSTATE);
    e.message = field(PG_DIAG_MESSAGE_PRIMARY);
    e.hint = field(PG_DIAG_MESSAGE_HINT);
    e.column = field(PG_DIAG_COLUMN_NAME);
    if (e.message.empty() && c != nullptr)
        e.message = PQerrorMessage(c);
    return e;
}

// Run a simple command outside the pipeline; true when it succeeded.
bool exec_ok(pg_conn* c, const char* sql) {
    ResultGuard g{PQexec(c, sql)};
    const auto st = PQresultStatus(g.r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

// NOTICEs (the validator's advice) are for psql users; the REST layer drops them.
void ignore_notice(void* /*arg*/, const char* /*message*/) {}

constexpr const char* kAuthSql =
    "SELECT quant.set_user(quant.authenticate_api_key($1), true), "
    "pg_catalog.set_config('statement_timeout', $2, true)";
constexpr const char* kAuthName = "quant_http_auth";

}  // namespace

Connection::~Connection() {
    PQfinish(conn_);
}

bool Connection::ok() const {
    return PQstatus(conn_) == CONNECTION_OK;
}

bool Connection::ping() {
    return ok() && exec_ok(conn_, "SELECT 1");
}

CallResult Connection::call(const std::string& api_key, int statement_timeout_ms, const std::string& sql,
                            const std::vector<std::optional<std::string>>& params) {
    CallResult out;
    if (!ok() || PQenterPipelineMode(conn_) != 1) {
        out.error.message = "connection not usable";
        return out;
    }
    char timeout[16];
    std::snprintf(timeout, sizeof timeout, "%d", statement_timeout_ms);
    const char* auth_values[2] = {api_key.c_str(), timeout};
    const char* values_small[8];
    std::vector<const char*> values_big;
    const char** values = values_small;
    if (params.size() > std::size(values_small)) {
        values_big.resize(params.size());
        values = values_big.data();
    }
    for (std::size_t i = 0; i < params.size(); ++i)
        values[i] = params[i] ? params[i]->c_str() : nullptr;
    const int n_params = static_cast<int>(params.size());

    // The statement name of this call; a new one is parsed in this pipeline, just before its
    // first execution (after the key check, so that an unknown key is still 401 first).
    auto named = prepared_.find(sql);
    const bool prepare_call = named == prepared_.end();
    const std::string call_name =
        prepare_call ? "quant_http_" + std::to_string(prepared_.size()) : named->second;
    const bool prepare_auth = !auth_prepared_;

    // Each step answers one result (then a NULL); the sync answers PGRES_PIPELINE_SYNC.
    enum Step { prepare_auth_step, begin_step, auth_step, prepare_call_step, call_step, commit_step };
    Step steps[6];
    int n_steps = 0;
    bool sent = true;
    if (prepare_auth) {
        sent = sent && PQsendPrepare(conn_, kAuthName, kAuthSql, 2, nullptr) == 1;
        steps[n_steps++] = prepare_auth_step;
    }
    sent = sent && PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    steps[n_steps++] = begin_step;
    sent = sent && PQsendQueryPrepared(conn_, kAuthName, 2, auth_values, nullptr, nullptr, 0) == 1;
    steps[n_steps++] = auth_step;
    if (prepare_call) {
        sent = sent && PQsendPrepare(conn_, call_name.c_str(), sql.c_str(), n_params, nullptr) == 1;
        steps[n_steps++] = prepare_call_step;
    }
    sent = sent && PQsendQueryPrepared(conn_, call_name.c_str(), n_params, values, nullptr, nullptr, 0) == 1;
    steps[n_steps++] = call_step;
    sent = sent && PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    steps[n_steps++] = commit_step;
    sent = sent && PQpipelineSync(conn_) == 1 && PQflush(conn_) == 0;
    if (!sent) {
        out.error.message = PQerrorMessage(conn_);
        return out;  // the connection is dropped by the pool (not ok) or reset below
    }
    int at = 0;  // index into steps of the result being read
    bool failed = false;
    bool auth_failed = false;
    bool stale_statement = false;
    int nulls_in_a_row = 0;
    while (true) {
        PGresult* raw = PQgetResult(conn_);
        if (raw == nullptr) {
            if (!ok() || ++nulls_in_a_row > 2) {
                failed = true;
                out.kind = CallResult::Kind::unavailable;
                out.error = SqlError{"", PQerrorMessage(conn_), "", ""};
                break;
            }
            ++at;
            continue;
        }
        nulls_in_a_row = 0;
        ResultGuard g{raw};
        const auto st = PQresultStatus(raw);
        if (st == PGRES_PIPELINE_SYNC)
            break;
        if (st == PGRES_PIPELINE_ABORTED)
            continue;
        const Step step = at < n_steps ? steps[at] : commit_step;
        if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_BAD_RESPONSE) {
            if (failed)
                continue;
            failed = true;
            out.error = error_of(raw, conn_);
            if (step == auth_step && !out.error.sqlstate.empty() &&
                out.error.sqlstate.compare(0, 2, "08") != 0 && out.error.sqlstate != "57P01") {
                auth_failed = true;  // authenticate_api_key gave NULL (set_user: 22004) or refused
            }
            // a prepared statement gone or outdated (e.g. a function's result type changed)
            stale_statement = out.error.sqlstate == "26000" || out.error.sqlstate == "0A000";
            continue;
        }
        if (step == prepare_auth_step && st == PGRES_COMMAND_OK) {
            auth_prepared_ = true;
        } else if (step == prepare_call_step && st == PGRES_COMMAND_OK) {
            prepared_.emplace(sql, call_name);
        } else if (step == auth_step && st == PGRES_TUPLES_OK && PQntuples(raw) == 1 &&
                   !PQgetisnull(raw, 0, 0)) {
            out.user.assign(PQgetvalue(raw, 0, 0), static_cast<std::size_t>(PQgetlength(raw, 0, 0)));
        } else if (step == call_step && st == PGRES_TUPLES_OK) {
            const int n = PQntuples(raw);
            out.rows.reserve(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) {
                if (PQgetisnull(raw, i, 0)) {
                    out.rows.emplace_back("null");
                } else {
                    out.rows.emplace_back(PQgetvalue(raw, i, 0),
                                          static_cast<std::size_t>(PQgetlength(raw, i, 0)));
                }
            }
        }
    }
    if (ok())
        PQexitPipelineMode(conn_);
    if (ok() && PQtransactionStatus(conn_) != PQTRANS_IDLE)
        exec_ok(conn_, "ROLLBACK");
    if (stale_statement && ok()) {  // parse everything again on the next requests
        exec_ok(conn_, "DEALLOCATE ALL");
        prepared_.clear();
        auth_prepared_ = false;
    }
    if (!failed) {
        out.kind = CallResult::Kind::ok;
    } else if (auth_failed) {
        out.kind = CallResult::Kind::unauthenticated;
    } else if (!out.error.sqlstate.empty()) {
        out.kind = CallResult::Kind::sql_error;
    } else {
        out.kind = CallResult::Kind::unavailable;
    }
    return out;
}

Pool::Pool(std::string conninfo, int size) : conninfo_(std::move(conninfo)), size_(size) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
    if (pool_ != nullptr && conn_)
        pool_->release(std::move(conn_));
}

int Pool::in_use() const {
    std::lock_guard lock(mu_);
    return leased_;
}

std::unique_ptr<Connection> Pool::connect(std::string& error) {
    pg_conn* c = PQconnectdb(conninfo_.c_str());
    auto conn = std::make_unique<Connection>(c);
    if (PQstatus(c) != CONNECTION_OK) {
        error = PQerrorMessage(c);
        return nullptr;
    }
    PQsetNoticeProcessor(c, ignore_notice, nullptr);
    // Run as the application role (owns nothing, no BYPASSRLS) so that row-level security
    // applies: a superuser or a member of quant_app switches to it.
    {
        ResultGuard g{PQexec(
            c,
            "SELECT current_user = 'quant_app' OR NOT (r.rolsuper OR pg_has_role('quant_app', 'MEMBER')) "
            "FROM pg_roles r WHERE r.rolname = current_user")};
        if (PQresultStatus(g.r) != PGRES_TUPLES_OK || PQntuples(g.r) != 1) {
            error = "cannot read the login role: " + std::string(PQerrorMessage(c));
            return nullptr;
        }
        const bool stay = PQgetvalue(g.r, 0, 0)[0] == 't';
        if (!stay && !exec_ok(c, "SET ROLE quant_app")) {
            error = "SET ROLE quant_app failed: " + std::string(PQerrorMessage(c));
            return nullptr;
        }
    }
    exec_ok(c, "SET application_name = 'quant-http'");
    return conn;
}

std::string Pool::check() {
    std::string error;
    auto c = connect(error);
    if (!c)
        return error;
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    ++open_;
    return {};
}

Pool::Lease Pool::acquire(std::chrono::milliseconds wait, std::string& error) {
    std::unique_lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (idle_.empty() && open_ >= size_) {
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= size_) {
            error = "all " + std::to_string(size_) + " database connections are busy";
            return Lease(nullptr, nullptr);
        }
    }
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        ++leased_;
        return Lease(this, std::move(c));
    }
    ++open_;  // open a new one outside the lock
    ++leased_;
    lock.unlock();
    auto c = connect(error);
    if (!c) {
        std::lock_guard relock(mu_);
        --open_;
        --leased_;
        cv_.notify_one();
        return Lease(nullptr, nullptr);
    }
    return Lease(this, std::move(c));
}

void Pool::release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    --leased_;
    if (c->ok()) {
        idle_.push_back(std::move(c));
    } else {
        --open_;  // a broken connection is dropped; the next acquire opens a new one
    }
    cv_.notify_one();
}

}  // namespace quant::http
