// One statement's rows, owned (PQclear on destruction), with columns by index or by name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "quant/pq/error.hpp"

namespace quant::pq {

class Result {
public:
    Result() = default;
    explicit Result(PGresult* r) : r_(r) {}
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    Result& operator=(Result&& o) noexcept;
    ~Result();

    explicit operator bool() const { return r_ != nullptr; }
    int rows() const;
    int columns() const;
    // The column's index; throws SqlError (42703) when the result has no such column.
    int column(const char* name) const;
    bool is_null(int row, int col) const;
    // The text of a value ("" for NULL), the value or nullopt, and typed getters that throw
    // SqlError (22P02) on text that is not a number (nullopt for NULL).
    std::string get(int row, int col) const;
    std::string get(int row, const char* name) const { return get(row, column(name)); }
    std::optional<std::string> opt(int row, int col) const;
    std::optional<std::string> opt(int row, const char* name) const { return opt(row, column(name)); }
    std::optional<double> get_double(int row, int col) const;
    std::optional<double> get_double(int row, const char* name) const {
        return get_double(row, column(name));
    }
    std::optional<long long> get_int(int row, int col) const;
    std::optional<long long> get_int(int row, const char* name) const { return get_int(row, column(name)); }
    std::optional<bool> get_bool(int row, int col) const;
    std::optional<bool> get_bool(int row, const char* name) const { return get_bool(row, column(name)); }
    // A value as a view into the result (valid while it lives); "" for NULL.
    std::string_view view(int row, int col) const;

    PGresult* raw() const { return r_; }
    PGresult* release();

private:
    void check(int row, int col) const;
    PGresult* r_ = nullptr;
};

// Text to a number for a column value (pure, so tested without a server).
std::optional<double> parse_double(std::string_view text);
std::optional<long long> parse_int(std::string_view text);

}  // namespace quant::pq
