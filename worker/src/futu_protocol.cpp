#include "futu_protocol.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace quant::futu {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
}

std::uint32_t get_u32(std::string_view b, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
    return v;
}

template <std::size_t N>
std::array<unsigned char, N> digest(const EVP_MD* md, std::string_view data) {
    std::array<unsigned char, N> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N)
        throw std::runtime_error("OpenSSL digest failed");
    return out;
}

std::string fmt_qty(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

}  // namespace

std::array<unsigned char, 20> sha1(std::string_view data) {
    return digest<20>(EVP_sha1(), data);
}

std::string md5_hex(std::string_view text) {
    const auto d = digest<16>(EVP_md5(), text);
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (unsigned char c : d) {
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
    return out;
}

std::string pack(std::uint32_t proto_id, std::uint32_t serial, std::string_view body) {
    if (body.size() > kMaxBody)
        throw ProtocolError("futu: a body of " + std::to_string(body.size()) + " bytes is over the limit");
    std::string out;
    out.reserve(kHeaderSize + body.size());
    out += "FT";
    put_u32(out, proto_id);
    out.push_back(0);  // protobuf
    out.push_back(0);  // version 0
    put_u32(out, serial);
    put_u32(out, static_cast<std::uint32_t>(body.size()));
    const auto h = sha1(body);
    out.append(reinterpret_cast<const char*>(h.data()), h.size());
    out.append(8, '\0');
    out.append(body);
    return out;
}

Header parse_header(std::string_view b) {
    if (b.size() < kHeaderSize)
        throw ProtocolError("futu: a header is 44 bytes, got " + std::to_string(b.size()));
    if (b[0] != 'F' || b[1] != 'T')
        throw ProtocolError("futu: the header does not start with \"FT\" (garbage on the connection)");
    Header h;
    h.proto_id = get_u32(b, 2);
    h.format = static_cast<std::uint8_t>(b[6]);
    h.version = static_cast<std::uint8_t>(b[7]);
    h.serial = get_u32(b, 8);
    h.body_len = get_u32(b, 12);
    std::memcpy(h.sha1.data(), b.data() + 16, 20);
    if (h.format != 0)
        throw ProtocolError("futu: body format " + std::to_string(h.format) + " (only 0, protobuf, is used)");
    if (h.body_len > kMaxBody)
        throw ProtocolError("futu: a body of " + std::to_string(h.body_len) + " bytes is over the limit");
    return h;
}

std::optional<Frame> FrameReader::next() {
    if (buf_.size() < kHeaderSize) {
        // a partial header that already cannot be one: fail at once rather than wait
        if ((!buf_.empty() && buf_[0] != 'F') || (buf_.size() > 1 && buf_[1] != 'T'))
            throw ProtocolError("futu: the header does not start with \"FT\" (garbage on the connection)");
        return std::nullopt;
    }
    const Header h = parse_header(std::string_view(buf_).substr(0, kHeaderSize));
    if (buf_.size() < kHeaderSize + h.body_len)
        return std::nullopt;
    Frame f;
    f.header = h;
    f.body = buf_.substr(kHeaderSize, h.body_len);
    buf_.erase(0, kHeaderSize + h.body_len);
    if (sha1(f.body) != h.sha1)
        throw ProtocolError("futu: the SHA-1 of a body (proto " + std::to_string(h.proto_id) + ", serial " +
                            std::to_string(h.serial) + ") does not match its header");
    return f;
}

// ---- symbols ----

Symbol parse_symbol(std::string_view s) {
    const auto dot = s.find('.');
    const std::string_view m = dot == std::string_view::npos ? std::string_view() : s.substr(0, dot);
    const std::string_view code = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
    Symbol out;
    if (m == "US") {
        out.market = Market::us;
    } else if (m == "HK") {
        out.market = Market::hk;
    } else {
        throw std::invalid_argument("futu symbol \"" + std::string(s) +
                                    "\": must be MARKET.CODE with MARKET US or HK, e.g. US.AAPL, HK.00700");
    }
    const bool ok = !code.empty() && code.size() <= 16 && std::all_of(code.begin(), code.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    if (!ok)
        throw std::invalid_argument("futu symbol \"" + std::string(s) +
                                    "\": the code must be 1 to 16 of A-Z 0-9 . - (e.g. AAPL, 00700)");
    if (out.market == Market::hk && (code.size() != 5 || !std::all_of(code.begin(), code.end(), [](char c) {
                                         return c >= '0' && c <= '9';
                                     })))
        throw std::invalid_argument("futu symbol \"" + std::string(s) +
                                    "\": an HK code is 5 digits (HK.00700)");
    out.code = std::string(code);
    return out;
}

std::string_view market_name(Market m) {
    return m == Market::hk ? "HK" : "US";
}
std::int32_t trd_market(Market m) {
    return m == Market::hk ? 1 : 2;
}
std::int32_t trd_sec_market(Market m) {
    return m == Market::hk ? 1 : 2;
}
std::int32_t qot_market(Market m) {
    return m == Market::hk ? 1 : 11;
}
std::optional<Market> market_of_trd(std::int32_t v) {
    if (v == 1)
        return Market::hk;
    if (v == 2)
        return Market::us;
    return std::nullopt;
}
std::string symbol_text(std::int32_t sec_market, std::string_view code) {
    const char* m = sec_market == 1 ? "HK" : sec_market == 2 ? "US" : "?";
    return std::string(m) + "." + std::string(code);
}

std::string_view env_name(Env e) {
    return e == Env::simulate ? "simulate" : "real";
}

// ---- order status ----

std::string_view order_status_name(std::int32_t s) {
    switch (s) {
        case 0:
            return "Unsubmitted";
        case -1:
            return "Unknown";
        case 1:
            return "WaitingSubmit";
        case 2:
            return "Submitting";
        case 3:
            return "SubmitFailed";
        case 4:
            return "TimeOut";
        case 5:
            return "Submitted";
        case 10:
            return "Filled_Part";
        case 11:
            return "Filled_All";
        case 12:
            return "Cancelling_Part";
        case 13:
            return "Cancelling_All";
        case 14:
            return "Cancelled_Part";
        case 15:
            return "Cancelled_All";
        case 21:
            return "Failed";
        case 22:
            return "Disabled";
        case 23:
            return "Deleted";
        case 24:
            return "FillCancelled";
        default:
            return "?";
    }
}

quant::OrderState order_state(std::int32_t s, double filled_qty) {
    switch (s) {
        case 11:  // Filled_All
            return quant::OrderState::filled;
        case 14:  // Cancelled_Part: the filled part stands, the rest is gone
        case 15:  // Cancelled_All
        case 23:  // Deleted
            return filled_qty > 0 ? quant::OrderState::filled : quant::OrderState::cancelled;
        case 3:   // SubmitFailed
        case 21:  // Failed
        case 22:  // Disabled
            return filled_qty > 0 ? quant::OrderState::filled : quant::OrderState::rejected;
        case 24:  // FillCancelled: the fills were reversed
            return quant::OrderState::cancelled;
        default:  // Unsubmitted, Unknown, WaitingSubmit, Submitting, TimeOut, Submitted, Filled_Part,
                  // Cancelling
            return quant::OrderState::sent;
    }
}

// ---- quantities ----

std::string quantity_refusal(Market m, double qty, std::int32_t lot_size, bool allow_fractional) {
    if (!std::isfinite(qty) || qty <= 0)
        return "quantity " + fmt_qty(qty) + " must be a positive number";
    const bool whole = std::fabs(qty - std::round(qty)) < 1e-9;
    if (m == Market::hk) {
        if (lot_size <= 0)
            return "the board lot of the security is unknown (fail closed)";
        const double lots = qty / lot_size;
        if (!whole || std::fabs(lots - std::round(lots)) > 1e-9)
            return "quantity " + fmt_qty(qty) + " is not a whole number of board lots of " +
                   std::to_string(lot_size) + " shares (HK trades in lots)";
        return "";
    }
    if (!whole && !allow_fractional)
        return "quantity " + fmt_qty(qty) +
               " is fractional; the account does not allow fractional US shares (whole shares only)";
    return "";
}

// ---- rate limits ----

std::chrono::milliseconds RateLimit::wait_at(Clock::time_point now) {
    while (!calls_.empty() && now - calls_.front() >= window_)
        calls_.pop_front();
    std::chrono::milliseconds wait{0};
    if (!calls_.empty()) {
        const auto since_last = std::chrono::duration_cast<std::chrono::milliseconds>(now - calls_.back());
        if (since_last < gap_)
            wait = gap_ - since_last;
    }
    if (static_cast<int>(calls_.size()) >= max_) {
        const auto free_at = calls_[calls_.size() - static_cast<std::size_t>(max_)] + window_;
        wait = std::max(wait, std::chrono::duration_cast<std::chrono::milliseconds>(free_at - now) +
                                  std::chrono::milliseconds(1));
    }
    return wait;
}

void RateLimit::record(Clock::time_point now) {
    calls_.push_back(now);
    while (static_cast<int>(calls_.size()) > max_ + 1)
        calls_.pop_front();
}

}  // namespace quant::futu
