// The libpq connection pool and the one way a request reaches the SQL API:
//   BEGIN; SELECT quant.set_user(quant.authenticate_api_key($1), true), <statement_timeout>;
//   SELECT <function>($1..); COMMIT;
// sent as one pipeline (one round trip), parameters always out of line. The key check and each
// route's call are named prepared statements of the connection (parsed once per connection,
// the Parse travelling in the first request's own pipeline).
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

struct pg_conn;

namespace quant::http {

struct CallResult {
    enum class Kind { ok, unauthenticated, sql_error, unavailable } kind = Kind::unavailable;
    std::string user;               // the key's user (kind ok or sql_error)
    std::vector<std::string> rows;  // column 0 of each row as text; "null" for SQL NULL
    SqlError error;                 // kind sql_error (and unavailable, with the reason)
};

class Connection {
public:
    explicit Connection(pg_conn* c) : conn_(c) {}
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // One request as the key's user. params: nullopt = SQL NULL.
    CallResult call(const std::string& api_key, int statement_timeout_ms, const std::string& sql,
                    const std::vector<std::optional<std::string>>& params);
    // SELECT 1 (readiness).
    bool ping();
    bool ok() const;

private:
    pg_conn* conn_;
    bool auth_prepared_ = false;
    std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

class Pool {
public:
    Pool(std::string conninfo, int size);
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
    // Opens one connection now, to fail fast at start; the reason when it cannot.
    std::string check();

private:
    std::unique_ptr<Connection> connect(std::string& error);
    void release(std::unique_ptr<Connection> c);

    std::string conninfo_;
    int size_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Connection>> idle_;
    int open_ = 0;  // connections that exist (idle + leased + being opened)
    int leased_ = 0;
};

}  // namespace quant::http
