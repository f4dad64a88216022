#include "message.hpp"

#include <cctype>

namespace quant::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// %XX escapes; in a query, '+' is a space too.
bool decode(std::string_view in, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size())
                return false;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return true;
}

}  // namespace

std::string Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name))
            return v;
    }
    return {};
}

bool Request::has_header(std::string_view name) const {
    for (const auto& kv : headers) {
        if (iequals(kv.first, name))
            return true;
    }
    return false;
}

const std::string* Request::param(std::string_view name) const {
    for (const auto& kv : params) {
        if (kv.first == name)
            return &kv.second;
    }
    return nullptr;
}

void Response::set_header(std::string name, std::string value) {
    for (auto& kv : headers) {
        if (iequals(kv.first, name)) {
            kv.second = std::move(value);
            return;
        }
    }
    headers.emplace_back(std::move(name), std::move(value));
}

bool split_target(std::string_view target, std::string& path, Fields& params) {
    const auto q = target.find('?');
    if (!decode(target.substr(0, q), false, path))
        return false;
    if (q == std::string_view::npos)
        return true;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty())
            continue;
        const auto eq = pair.find('=');
        std::string k;
        std::string v;
        if (!decode(pair.substr(0, eq), true, k))
            return false;
        if (eq != std::string_view::npos && !decode(pair.substr(eq + 1), true, v))
            return false;
        params.emplace_back(std::move(k), std::move(v));
    }
    return true;
}

}  // namespace quant::http
