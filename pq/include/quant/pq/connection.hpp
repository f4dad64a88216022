// One libpq connection: opened with the session defaults every quant service needs (timeouts,
// application_name, an optional role to assume), parameterised statements (text parameters,
// nullopt = NULL; values never enter the SQL text), prepared statements cached by name, and
// LISTEN/NOTIFY with a timed wait on the socket. Failures throw SqlError.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "quant/pq/error.hpp"
#include "quant/pq/result.hpp"

namespace quant::pq {

using Param = std::optional<std::string>;
using Params = std::vector<Param>;

struct ConnectOptions {
    std::string conninfo;          // a URL or key=value string; empty: libpq's PG* environment
    std::string application_name;  // shown in pg_stat_activity
    int connect_timeout_s = 5;
    int statement_timeout_ms = 0;  // session default set at connect; 0 leaves the server's
    int lock_timeout_ms = 0;       // likewise
    // SET ROLE to it when the login is a member of it or a superuser; when the role does not
    // exist or the login may not, the connection stays the login (role_note() says why).
    std::string assume_role;
    bool role_must_exist = false;  // a missing assume_role fails the connect (fail closed)
    bool drop_notices = false;     // NOTICEs are dropped instead of going to stderr
};

// Exponential backoff with a cap: the delay before the next reconnect attempt.
class Backoff {
public:
    explicit Backoff(std::chrono::milliseconds first = std::chrono::milliseconds(100),
                     std::chrono::milliseconds cap = std::chrono::milliseconds(5000))
        : first_(first), cap_(cap), next_(first) {}
    // The delay to wait now; the one after it is twice as long, up to the cap.
    std::chrono::milliseconds next();
    void reset() { next_ = first_; }
    std::chrono::milliseconds cap() const { return cap_; }

private:
    std::chrono::milliseconds first_;
    std::chrono::milliseconds cap_;
    std::chrono::milliseconds next_;
};

struct Notification {
    std::string channel;
    std::string payload;
    int backend_pid = 0;
};

enum class Wait { readable, timeout, interrupted };

class Connection {
public:
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { close(); }

    // Connects and applies the options; throws SqlError (connection_lost()) with the reason.
    void open(const ConnectOptions& options);
    void close();
    bool ok() const { return c_ != nullptr && PQstatus(c_) == CONNECTION_OK; }
    PGconn* raw() const { return c_; }
    int socket() const { return c_ != nullptr ? PQsocket(c_) : -1; }
    int backend_pid() const { return c_ != nullptr ? PQbackendPID(c_) : 0; }
    // The role the session runs as (current_user after the options were applied), and why
    // assume_role was or was not taken ("" when none was asked for).
    const std::string& role() const { return role_; }
    const std::string& role_note() const { return role_note_; }

    // One statement; throws SqlError.
    Result exec(const std::string& sql, const Params& params = {});
    // A named prepared statement: parsed once per connection (on first use), then executed.
    // A name always stands for one SQL text.
    Result exec_prepared(const std::string& name, const std::string& sql, const Params& params = {});
    bool is_prepared(const std::string& name) const { return prepared_.count(name) != 0; }
    // Bookkeeping for statements prepared inside a pipeline.
    void remember_prepared(const std::string& name, const std::string& sql) { prepared_[name] = sql; }
    // After 26000/0A000 (a statement gone, or its result type changed by an upgrade).
    void forget_prepared();
    // ROLLBACK when a transaction is open; never throws.
    void rollback_quietly();

    // LISTEN on a channel (quoted as an identifier).
    void listen(const std::string& channel);
    // Blocks until the socket is readable, the timeout passes, or a signal interrupts.
    Wait wait_readable(std::chrono::milliseconds timeout) const;
    // Reads what arrived (PQconsumeInput) and returns the notifications; throws SqlError
    // (lost) when the connection is gone.
    std::vector<Notification> notifications();

private:
    SqlError failure(PGresult* r) const;
    PGconn* c_ = nullptr;
    std::string role_;
    std::string role_note_;
    std::unordered_map<std::string, std::string> prepared_;  // name -> SQL text
};

// True when the error means the statement cache of the connection is stale.
bool stale_statement(const SqlError& e);

}  // namespace quant::pq
