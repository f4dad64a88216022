#include "quant/bars.hpp"

#include <charconv>
#include <cstdio>
#include <string>

#include "quant/error.hpp"

namespace quant {

std::span<const double> BarSeries::column(Column c) const noexcept {
    switch (c) {
        case Column::v:
        case Column::close:
            return close;
        case Column::open:
            return open;
        case Column::high:
            return high;
        case Column::low:
            return low;
        case Column::volume:
            return volume;
    }
    return close;
}

void OwnedBars::reserve(std::size_t n) {
    ts.reserve(n);
    open.reserve(n);
    high.reserve(n);
    low.reserve(n);
    close.reserve(n);
    volume.reserve(n);
}

void OwnedBars::push_back(std::int64_t t, double o, double h, double l, double c, double v) {
    ts.push_back(t);
    open.push_back(o);
    high.push_back(h);
    low.push_back(l);
    close.push_back(c);
    volume.push_back(v);
}

namespace {

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
}

constexpr std::int64_t micros_per_day = 86400LL * 1000000LL;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

unsigned days_in_month(int y, unsigned m) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

double parse_double(std::string_view s, std::size_t line, const char* col) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
        throw Error(
            ErrorCode::invalid_argument, col,
            "line " + std::to_string(line) + ": " + col + " is not a number: \"" + std::string(s) + "\"");
    }
    return v;
}

}  // namespace

OwnedBars read_bars_csv(std::string_view text) {
    OwnedBars bars;
    std::size_t pos = 0, line_no = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty() || line_no == 1)
            continue;  // header
        std::string_view f[6];
        std::size_t start = 0;
        for (int i = 0; i < 6; ++i) {
            std::size_t comma = line.find(',', start);
            if (comma == std::string_view::npos && i < 5) {
                throw Error(ErrorCode::invalid_argument, "",
                            "line " + std::to_string(line_no) + ": expected 6 columns");
            }
            f[i] = line.substr(start, (i < 5 ? comma : line.size()) - start);
            start = comma + 1;
        }
        int y = 0;
        unsigned mo = 0, d = 0;
        if (f[0].size() < 10 || std::sscanf(std::string(f[0]).c_str(), "%d-%u-%u", &y, &mo, &d) != 3) {
            throw Error(ErrorCode::invalid_argument, "date",
                        "line " + std::to_string(line_no) + ": bad date");
        }
        // a real calendar day of years 1..9999 (fuzz_bars_csv: a year of 1651025397 overflowed
        // the microsecond timestamp)
        if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
            throw Error(ErrorCode::invalid_argument, "date",
                        "line " + std::to_string(line_no) + ": date \"" + std::string(f[0]) +
                            "\" is not a calendar day YYYY-MM-DD of years 0001 to 9999");
        }
        bars.push_back(days_from_civil(y, mo, d) * micros_per_day, parse_double(f[1], line_no, "open"),
                       parse_double(f[2], line_no, "high"), parse_double(f[3], line_no, "low"),
                       parse_double(f[4], line_no, "close"), parse_double(f[5], line_no, "volume"));
    }
    return bars;
}

std::string format_date(std::int64_t unix_micros) {
    int y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(floor_div(unix_micros, micros_per_day), y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
    return buf;
}

std::string format_timestamp(std::int64_t unix_micros) {
    const std::int64_t day = floor_div(unix_micros, micros_per_day);
    const std::int64_t secs = (unix_micros - day * micros_per_day) / 1000000;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lldZ", format_date(unix_micros).c_str(),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
    return buf;
}

}  // namespace quant
