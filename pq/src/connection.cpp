#include "quant/pq/connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "text.hpp"

namespace quant::pq {

namespace {

void drop_notice(void* /*arg*/, const char* /*message*/) {}

bool succeeded(const PGresult* r) {
    const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

}  // namespace

std::chrono::milliseconds Backoff::next() {
    const auto now = next_;
    next_ = std::min(next_ * 2, cap_);
    return now;
}

bool stale_statement(const SqlError& e) {
    return e.sqlstate == "26000" || e.sqlstate == "0A000";
}

void Connection::open(const ConnectOptions& o) {
    close();
    const std::string timeout = std::to_string(o.connect_timeout_s);
    // conninfo as an expanded "dbname" so that a URL and key=value both work; the keywords
    // after it override what it says
    std::vector<const char*> keys;
    std::vector<const char*> values;
    if (!o.conninfo.empty()) {
        keys.push_back("dbname");
        values.push_back(o.conninfo.c_str());
    }
    if (!o.application_name.empty()) {
        keys.push_back("application_name");
        values.push_back(o.application_name.c_str());
    }
    keys.push_back("connect_timeout");
    values.push_back(timeout.c_str());
    keys.push_back(nullptr);
    values.push_back(nullptr);
    c_ = PQconnectdbParams(keys.data(), values.data(), 1);
    if (c_ == nullptr || PQstatus(c_) != CONNECTION_OK) {
        std::string msg = c_ != nullptr ? detail::trimmed(PQerrorMessage(c_)) : "out of memory";
        close();
        throw SqlError("08001", "connection failed: " + msg, true);
    }
    if (o.drop_notices)
        PQsetNoticeProcessor(c_, drop_notice, nullptr);
    try {
        // Session defaults: a runaway statement or a lock wait ends, whatever the caller forgets.
        if (o.statement_timeout_ms > 0 || o.lock_timeout_ms > 0) {
            exec(
                "SELECT pg_catalog.set_config('statement_timeout', $1, false), "
                "pg_catalog.set_config('lock_timeout', $2, false)",
                {std::to_string(std::max(o.statement_timeout_ms, 0)),
                 std::to_string(std::max(o.lock_timeout_ms, 0))});
        }
        role_note_.clear();
        if (!o.assume_role.empty()) {
            const Result r = exec(
                "SELECT current_user = $1 AS already, EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE "
                "rolname = $1) "
                "AS role_exists, CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) "
                "THEN "
                "(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) OR "
                "pg_catalog.pg_has_role(current_user, $1, 'MEMBER') END AS may",
                {o.assume_role});
            if (r.get_bool(0, "already").value_or(false)) {
                role_note_ = "logged in as " + o.assume_role;
            } else if (!r.get_bool(0, "role_exists").value_or(false)) {
                if (o.role_must_exist)
                    throw SqlError("42704", "role " + o.assume_role + " does not exist");
                role_note_ = "role " + o.assume_role + " does not exist: running as the login";
            } else if (!r.get_bool(0, "may").value_or(false)) {
                role_note_ = "the login is neither a member of " + o.assume_role +
                             " nor a superuser: running as the login";
            } else {
                exec("SELECT pg_catalog.set_config('role', $1, false)", {o.assume_role});
                role_note_ = "assumed role " + o.assume_role;
            }
        }
        role_ = exec("SELECT current_user::text").get(0, 0);
    } catch (const SqlError& e) {
        close();
        throw SqlError(e.sqlstate.empty() ? "08001" : e.sqlstate, "connection set-up failed: " + e.message,
                       true);
    }
}

void Connection::close() {
    if (c_ != nullptr)
        PQfinish(c_);
    c_ = nullptr;
    prepared_.clear();
    role_.clear();
}

SqlError Connection::failure(PGresult* r) const {
    return error_of(r, c_);
}

Result Connection::exec(const std::string& sql, const Params& params) {
    if (c_ == nullptr)
        throw SqlError("08003", "not connected", true);
    const auto values = detail::values_of(params);
    Result r(PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
    if (succeeded(r.raw()))
        return r;
    throw failure(r.raw());
}

Result Connection::exec_prepared(const std::string& name, const std::string& sql, const Params& params) {
    if (c_ == nullptr)
        throw SqlError("08003", "not connected", true);
    if (prepared_.count(name) == 0) {
        const Result p(PQprepare(c_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr));
        if (!succeeded(p.raw()))
            throw failure(p.raw());
        prepared_.emplace(name, sql);
    }
    const auto values = detail::values_of(params);
    Result r(PQexecPrepared(c_, name.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                            nullptr, 0));
    if (succeeded(r.raw()))
        return r;
    SqlError e = failure(r.raw());
    if (stale_statement(e))
        forget_prepared();
    throw e;
}

void Connection::forget_prepared() {
    prepared_.clear();
    if (ok() && PQtransactionStatus(c_) == PQTRANS_IDLE) {
        const Result r(PQexec(c_, "DEALLOCATE ALL"));
    }
}

void Connection::rollback_quietly() {
    if (!ok() || PQtransactionStatus(c_) == PQTRANS_IDLE)
        return;
    const Result r(PQexec(c_, "ROLLBACK"));
}

void Connection::listen(const std::string& channel) {
    if (c_ == nullptr)
        throw SqlError("08003", "not connected", true);
    char* quoted = PQescapeIdentifier(c_, channel.c_str(), channel.size());
    if (quoted == nullptr)
        throw failure(nullptr);
    const std::string sql = std::string("LISTEN ") + quoted;
    PQfreemem(quoted);
    exec(sql);
}

Wait Connection::wait_readable(std::chrono::milliseconds timeout) const {
    pollfd pfd{socket(), POLLIN, 0};
    if (pfd.fd < 0)
        return Wait::readable;  // notifications() then reports the lost connection
    const int rc = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (rc < 0)
        return errno == EINTR ? Wait::interrupted : Wait::readable;
    return rc == 0 ? Wait::timeout : Wait::readable;
}

std::vector<Notification> Connection::notifications() {
    if (c_ == nullptr || PQconsumeInput(c_) == 0 || PQstatus(c_) != CONNECTION_OK) {
        throw SqlError(
            "08006",
            "listener lost: " + (c_ != nullptr ? detail::trimmed(PQerrorMessage(c_)) : std::string()), true);
    }
    std::vector<Notification> out;
    while (PGnotify* n = PQnotifies(c_)) {
        out.push_back({n->relname, n->extra != nullptr ? n->extra : "", n->be_pid});
        PQfreemem(n);
    }
    return out;
}

}  // namespace quant::pq
