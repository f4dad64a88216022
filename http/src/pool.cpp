#include "pool.hpp"

#include "quant/pq/pipeline.hpp"

namespace quant::http {

namespace {

constexpr const char* kLoginName = "quant_http_login";
constexpr const char* kLoginSql = "SELECT quant.login_api_key($1)";
constexpr const char* kSessionLoginName = "quant_http_session_login";
constexpr const char* kSessionLoginSql = "SELECT quant.login_session($1)";
constexpr const char* kTimeoutName = "quant_http_timeout";
constexpr const char* kTimeoutSql = "SELECT pg_catalog.set_config('statement_timeout', $1, true)";

// The route's statement runs only when the login set a user: otherwise it returns no row.
std::string guarded(const std::string& sql) {
    return "SELECT * FROM (" + sql + ") q WHERE quant.authenticated()";
}

}  // namespace

bool Connection::ok() const {
    return conn_ && conn_->ok();
}

bool Connection::ping() {
    try {
        return ok() && conn_->exec("SELECT 1").rows() == 1;
    } catch (const pq::SqlError&) {
        return false;
    }
}

bool Connection::query_row(const std::string& sql, std::vector<std::string>& out) {
    out.clear();
    try {
        if (!ok())
            return false;
        const pq::Result r = conn_->exec(sql);
        if (r.rows() != 1)
            return false;
        for (int c = 0; c < r.columns(); ++c)
            out.emplace_back(r.is_null(0, c) ? std::string() : std::string(r.view(0, c)));
        return true;
    } catch (const pq::SqlError&) {
        return false;
    }
}

CallResult Connection::call(const std::string& api_key, int statement_timeout_ms, const std::string& sql,
                            const std::vector<std::optional<std::string>>& params) {
    CallResult out;
    if (!ok()) {
        out.error.message = "connection not usable";
        return out;
    }
    auto named = names_.find(sql);
    if (named == names_.end())
        named = names_.emplace(sql, "quant_http_" + std::to_string(names_.size())).first;
    pq::Pipeline::Outcome o;
    std::size_t login = 0;
    std::size_t route = 0;
    try {
        pq::Pipeline p(*conn_);
        const bool session = api_key.rfind("qs_", 0) == 0;  // a web UI session's token
        login = session ? p.add_prepared(kSessionLoginName, kSessionLoginSql, {api_key})
                        : p.add_prepared(kLoginName, kLoginSql, {api_key});
        if (statement_timeout_ms != default_timeout_ms_)
            p.add_prepared(kTimeoutName, kTimeoutSql, {std::to_string(statement_timeout_ms)});
        route = p.add_prepared(named->second, guarded(sql), params);
        o = p.run();
    } catch (const pq::SqlError& e) {
        out.error = e;
        return out;  // unavailable
    }
    const pq::Result& who = o.results[login];
    if (who && who.rows() == 1 && !who.is_null(0, 0))
        out.user = who.get(0, 0);
    if (o.error) {
        out.error = *o.error;
        if (o.connection_lost()) {
            conn_->close();  // the pool drops it
            // a read-only server (25006) answered: nothing was changed, say so (503 read-only)
            out.kind =
                out.error.sqlstate == "25006" ? CallResult::Kind::sql_error : CallResult::Kind::unavailable;
        } else {
            out.kind =
                out.error.sqlstate.empty() ? CallResult::Kind::unavailable : CallResult::Kind::sql_error;
        }
        return out;
    }
    if (out.user.empty()) {
        out.kind = CallResult::Kind::unauthenticated;
        return out;
    }
    const pq::Result& rows = o.results[route];
    const int n = rows.rows();
    out.rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        if (rows.is_null(i, 0))
            out.rows.emplace_back("null");
        else
            out.rows.emplace_back(rows.view(i, 0));
    }
    out.kind = CallResult::Kind::ok;
    return out;
}

CallResult Connection::call_public(const std::string& sql,
                                   const std::vector<std::optional<std::string>>& params) {
    CallResult out;
    if (!ok()) {
        out.error.message = "connection not usable";
        return out;
    }
    pq::Pipeline::Outcome o;
    std::size_t statement = 0;
    try {
        pq::Pipeline p(*conn_);
        statement = p.add(sql, params);
        o = p.run();
    } catch (const pq::SqlError& e) {
        out.error = e;
        return out;
    }
    if (o.error) {
        out.error = *o.error;
        if (o.connection_lost())
            conn_->close();
        out.kind = (o.connection_lost() && out.error.sqlstate != "25006") || out.error.sqlstate.empty()
                       ? CallResult::Kind::unavailable
                       : CallResult::Kind::sql_error;
        return out;
    }
    const pq::Result& rows = o.results[statement];
    for (int i = 0; i < rows.rows(); ++i)
        out.rows.emplace_back(rows.is_null(i, 0) ? std::string("null") : std::string(rows.view(i, 0)));
    out.kind = CallResult::Kind::ok;
    return out;
}

Pool::Pool(std::string conninfo, int size) : Pool(std::move(conninfo), size, PoolOptions{}) {}

Pool::Pool(std::string conninfo, int size, PoolOptions options) : options_(std::move(options)), size_(size) {
    connect_options_.conninfo = std::move(conninfo);
    connect_options_.application_name = options_.application_name;
    connect_options_.statement_timeout_ms = options_.statement_timeout_ms;
    connect_options_.lock_timeout_ms = options_.lock_timeout_ms;
    // run as the application role (owns nothing, no BYPASSRLS) so that row-level security applies
    connect_options_.assume_role = options_.role;
    connect_options_.role_must_exist = true;  // never serve requests as a superuser by accident
    connect_options_.drop_notices = true;     // the validator's advice is for psql users
}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
    if (pool_ != nullptr && conn_)
        pool_->release(std::move(conn_));
}

int Pool::in_use() const {
    std::lock_guard lock(mu_);
    return leased_;
}

bool Pool::has_free() const {
    std::lock_guard lock(mu_);
    return !idle_.empty() || open_ < size_;
}

std::unique_ptr<Connection> Pool::connect(std::string& error) {
    auto c = std::make_unique<pq::Connection>();
    try {
        c->open(connect_options_);
    } catch (const pq::SqlError& e) {
        error = e.message;
        return nullptr;
    }
    return std::make_unique<Connection>(std::move(c), options_.statement_timeout_ms);
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
            return {nullptr, nullptr};
        }
    }
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        ++leased_;
        return {this, std::move(c)};
    }
    if (std::chrono::steady_clock::now() < retry_at_) {
        error = "database unavailable (retrying shortly): " + last_failure_;
        return {nullptr, nullptr};
    }
    ++open_;  // open a new one outside the lock
    ++leased_;
    lock.unlock();
    auto c = connect(error);
    std::lock_guard relock(mu_);
    if (!c) {
        --open_;
        --leased_;
        last_failure_ = error;
        retry_at_ = std::chrono::steady_clock::now() + backoff_.next();
        cv_.notify_one();
        return {nullptr, nullptr};
    }
    backoff_.reset();
    retry_at_ = {};
    return {this, std::move(c)};
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
