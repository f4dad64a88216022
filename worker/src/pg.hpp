// A thin RAII layer over libpq for the worker: one connection, exec with text parameters,
// errors as DbError (with SQLSTATE and whether the connection is gone).
#pragma once
#include <libpq-fe.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace worker {

class DbError : public std::runtime_error {
public:
    DbError(const std::string& message, std::string sqlstate, bool connection_lost)
        : std::runtime_error(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
    const std::string& sqlstate() const { return sqlstate_; }
    bool connection_lost() const { return connection_lost_; }

private:
    std::string sqlstate_;
    bool connection_lost_;
};

using Param = std::optional<std::string>;

class Result {
public:
    Result() = default;
    explicit Result(PGresult* r) : r_(r) {}
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    Result& operator=(Result&& o) noexcept {
        if (this != &o) {
            clear();
            r_ = o.r_;
            o.r_ = nullptr;
        }
        return *this;
    }
    ~Result() { clear(); }

    int rows() const { return r_ ? PQntuples(r_) : 0; }
    bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
    std::string get(int row, int col) const {
        return is_null(row, col) ? std::string() : PQgetvalue(r_, row, col);
    }
    std::optional<std::string> opt(int row, int col) const {
        if (row >= rows() || is_null(row, col))
            return std::nullopt;
        return std::string(PQgetvalue(r_, row, col));
    }
    PGresult* raw() const { return r_; }
    int column(const char* name) const { return PQfnumber(r_, name); }
    std::string get(int row, const char* name) const { return get(row, column(name)); }
    std::optional<std::string> opt(int row, const char* name) const { return opt(row, column(name)); }

private:
    void clear() {
        if (r_)
            PQclear(r_);
        r_ = nullptr;
    }
    PGresult* r_ = nullptr;
};

class Conn {
public:
    Conn() = default;
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    ~Conn() { close(); }

    // Connects (conninfo "" uses the PG* environment); throws DbError on failure.
    void open(const std::string& conninfo, const std::string& application_name);
    void close();
    bool ok() const { return c_ != nullptr && PQstatus(c_) == CONNECTION_OK; }
    PGconn* raw() const { return c_; }
    int socket() const { return c_ ? PQsocket(c_) : -1; }

    // Runs one statement (text parameters, NULL for nullopt); throws DbError.
    Result exec(const std::string& sql, const std::vector<Param>& params = {});
    // ROLLBACK if a transaction is open; never throws.
    void rollback_quietly();

private:
    PGconn* c_ = nullptr;
};

}  // namespace worker
