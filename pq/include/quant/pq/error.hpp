// The one SQL error type: what libpq reports about a failed statement or connection.
#pragma once

#include <libpq-fe.h>

#include <exception>
#include <string>

namespace quant::pq {

struct SqlError : std::exception {
    std::string sqlstate;  // empty: no server answer (the connection failed)
    std::string message;   // the primary message
    std::string detail;
    std::string hint;
    std::string column;              // PG_DIAG_COLUMN_NAME: the field a constraint names
    bool connection_broken = false;  // PQstatus was not CONNECTION_OK when it was raised

    SqlError() = default;
    SqlError(std::string state, std::string msg, bool broken = false)
        : sqlstate(std::move(state)), message(std::move(msg)), connection_broken(broken) {}

    // The connection is gone and must be opened again: PQstatus bad, class 08 (connection
    // exception), the server shutting down or refusing (57P01, 57P02, 57P03), or the server
    // is read-only (25006: a standby, or a primary fenced or demoted by a failover; a
    // multi-host conninfo with target_session_attrs=read-write then finds the new primary).
    bool connection_lost() const;

    const char* what() const noexcept override { return message.c_str(); }
};

// The lost-connection rule on a bare SQLSTATE (class 08, 57P01/57P02/57P03, 25006).
bool sqlstate_means_lost(const std::string& sqlstate);

// The error of a failed result (r may be null: then the connection's message).
SqlError error_of(const PGresult* r, const PGconn* c);

}  // namespace quant::pq
