// The libpq connection pool and the one way a request reaches the SQL API, one pipeline (one
// round trip, one transaction: the statements up to the pipeline's one Sync form the implicit
// transaction of the extended protocol, committed at the Sync, rolled back by any error in it;
// no BEGIN and COMMIT to parse and run), parameters always out of line:
//   SELECT quant.login_api_key($1) (a session token "qs_..": quant.login_session($1)); [SET LOCAL
//   statement_timeout, long routes only;] SELECT * FROM (<the route's statement>) q WHERE
//   quant.authenticated(); Sync
// A key that logs in no one gives NULL: the route's statement returns nothing and no ERROR is
// raised anywhere. The login and each route's statement are named prepared statements of the
// connection (parsed once per connection, the Parse travelling in the first request's pipeline).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "problem.hpp"
#include "quant/pq/connection.hpp"

namespace quant::http {

struct CallResult {
    enum class Kind { ok, unauthenticated, sql_error, unavailable } kind = Kind::unavailable;
    std::string user;               // the key's user (kind ok or sql_error)
    std::vector<std::string> rows;  // column 0 of each row as text; "null" for SQL NULL
    SqlError error;                 // kind sql_error (and unavailable, with the reason)
};

// The session every pooled connection starts with.
struct PoolOptions {
    int statement_timeout_ms = 10000;  // the default of every statement (the CRUD routes)
    int lock_timeout_ms = 2000;
    std::string role = "quant_app";  // assumed when the login is a member or a superuser
    std::string application_name = "quant-http";
};

class Connection {
public:
    Connection(std::unique_ptr<pq::Connection> c, int default_statement_timeout_ms)
        : conn_(std::move(c)), default_timeout_ms_(default_statement_timeout_ms) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // One request as the key's user. params: nullopt = SQL NULL. A statement_timeout_ms other
    // than the connection's default is set for this request's transaction only.
    CallResult call(const std::string& api_key, int statement_timeout_ms, const std::string& sql,
                    const std::vector<std::optional<std::string>>& params);
    // One statement with no user (logging a person in or out), in a transaction of its own. kind ok or
    // sql_error/unavailable; user empty.
    CallResult call_public(const std::string& sql, const std::vector<std::optional<std::string>>& params);
    // SELECT 1 (readiness).
    bool ping();
    // One row of a statement without parameters or user (the standby's lag), each column as
    // text ("" for NULL); false when it failed.
    bool query_row(const std::string& sql, std::vector<std::string>& out);
    bool ok() const;

private:
    std::unique_ptr<pq::Connection> conn_;
    int default_timeout_ms_;
    std::unordered_map<std::string, std::string> names_;  // route SQL -> statement name
};

class Pool {
public:
    Pool(std::string conninfo, int size);
    Pool(std::string conninfo, int size, PoolOptions options);
    ~Pool();

    // Borrow a connection (waits up to `wait`); returns it to the pool when destroyed.
    class Lease {
    public:
        Lease(Pool* p, std::unique_ptr<Connection> c) : pool_(p), conn_(std::move(c)) {}
        Lease(Lease&&) = default;
        ~Lease();
        Connection* operator->() { return conn_.get(); }
        explicit operator bool() const { return conn_ != nullptr; }

    private:
        Pool* pool_;
        std::unique_ptr<Connection> conn_;
    };
    Lease acquire(std::chrono::milliseconds wait, std::string& error);

    int size() const { return size_; }
    int in_use() const;
    // Whether acquire would find a connection without waiting (idle, or one more may be opened).
    bool has_free() const;
    // Opens one connection now, to fail fast at start; the reason when it cannot.
    std::string check();

private:
    std::unique_ptr<Connection> connect(std::string& error);
    void release(std::unique_ptr<Connection> c);

    pq::ConnectOptions connect_options_;
    PoolOptions options_;
    int size_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Connection>> idle_;
    int open_ = 0;  // connections that exist (idle + leased + being opened)
    int leased_ = 0;
    // After a failed connect, new connections wait for the backoff (requests get the reason at
    // once instead of each paying a connect timeout while the database is down).
    pq::Backoff backoff_{std::chrono::milliseconds(100), std::chrono::milliseconds(2000)};
    std::chrono::steady_clock::time_point retry_at_{};
    std::string last_failure_;
};

}  // namespace quant::http
