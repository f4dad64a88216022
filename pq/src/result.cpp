#include "quant/pq/result.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace quant::pq {

Result& Result::operator=(Result&& o) noexcept {
    if (this != &o) {
        if (r_ != nullptr)
            PQclear(r_);
        r_ = o.r_;
        o.r_ = nullptr;
    }
    return *this;
}

Result::~Result() {
    if (r_ != nullptr)
        PQclear(r_);
}

PGresult* Result::release() {
    PGresult* r = r_;
    r_ = nullptr;
    return r;
}

int Result::rows() const {
    return r_ != nullptr ? PQntuples(r_) : 0;
}

int Result::columns() const {
    return r_ != nullptr ? PQnfields(r_) : 0;
}

int Result::column(const char* name) const {
    const int i = r_ != nullptr ? PQfnumber(r_, name) : -1;
    if (i < 0)
        throw SqlError("42703", std::string("the result has no column ") + name);
    return i;
}

void Result::check(int row, int col) const {
    if (row < 0 || row >= rows() || col < 0 || col >= columns()) {
        throw SqlError("22023", "no value at row " + std::to_string(row) + ", column " + std::to_string(col));
    }
}

bool Result::is_null(int row, int col) const {
    check(row, col);
    return PQgetisnull(r_, row, col) != 0;
}

std::string_view Result::view(int row, int col) const {
    if (is_null(row, col))
        return {};
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

std::string Result::get(int row, int col) const {
    return std::string(view(row, col));
}

std::optional<std::string> Result::opt(int row, int col) const {
    if (row >= rows() || is_null(row, col))
        return std::nullopt;
    return std::string(view(row, col));
}

std::optional<double> Result::get_double(int row, int col) const {
    if (is_null(row, col))
        return std::nullopt;
    const auto v = parse_double(view(row, col));
    if (!v)
        throw SqlError("22P02", "not a number: \"" + get(row, col).substr(0, 40) + "\"");
    return v;
}

std::optional<long long> Result::get_int(int row, int col) const {
    if (is_null(row, col))
        return std::nullopt;
    const auto v = parse_int(view(row, col));
    if (!v)
        throw SqlError("22P02", "not an integer: \"" + get(row, col).substr(0, 40) + "\"");
    return v;
}

std::optional<bool> Result::get_bool(int row, int col) const {
    if (is_null(row, col))
        return std::nullopt;
    const std::string_view v = view(row, col);
    if (v == "t" || v == "true")
        return true;
    if (v == "f" || v == "false")
        return false;
    throw SqlError("22P02", "not a boolean: \"" + std::string(v.substr(0, 40)) + "\"");
}

std::optional<double> parse_double(std::string_view text) {
    // PostgreSQL's spellings of the non-finite values (numeric and float8)
    if (text == "NaN")
        return std::nan("");
    if (text == "Infinity")
        return HUGE_VAL;
    if (text == "-Infinity")
        return -HUGE_VAL;
    if (text.empty())
        return std::nullopt;
    const std::string s(text);  // strtod needs a terminated string
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size())
        return std::nullopt;
    return v;  // out of range: +-HUGE_VAL (ERANGE), which callers treat as not finite
}

std::optional<long long> parse_int(std::string_view text) {
    long long v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        return std::nullopt;
    return v;
}

}  // namespace quant::pq
