// Futu OpenD's TCP API, the pure part (no sockets, no Postgres, no protobuf): the 44-byte packet
// header and a frame reader that survives partial reads and garbage, the trade password's MD5,
// symbols ("US.AAPL", "HK.00700") split into market and code, order status -> OrderState, HK
// board lots and US fractional quantities, the client-side rate limits. Every fact is
// ../shared/docs/brokers.md §2 (cited there). FutuAdapter (futu_adapter.cpp) does the I/O.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "quant/trade_adapter.hpp"

namespace quant::futu {

// ---- protocol ids (brokers.md §2.4) ----
enum ProtoId : std::uint32_t {
    kInitConnect = 1001,
    kKeepAlive = 1004,
    kTrdGetAccList = 2001,
    kTrdUnlockTrade = 2005,
    kTrdSubAccPush = 2008,
    kTrdGetFunds = 2101,
    kTrdGetPositionList = 2102,
    kTrdGetOrderList = 2201,
    kTrdPlaceOrder = 2202,
    kTrdUpdateOrder = 2208,  // push
    kTrdGetOrderFillList = 2211,
    kTrdUpdateOrderFill = 2218,  // push
    kTrdGetHistoryOrderList = 2221,
    kQotGetStaticInfo = 3202,
    kQotRequestHistoryKL = 3103,
};

// ---- the packet header (brokers.md §2.1): 44 bytes, packed, little-endian ----
inline constexpr std::size_t kHeaderSize = 44;
// The largest body the reader accepts (a reply longer than this is garbage: drop the connection).
inline constexpr std::uint32_t kMaxBody = 16U * 1024U * 1024U;

struct Header {
    std::uint32_t proto_id = 0;
    std::uint8_t format = 0;   // 0 protobuf, 1 JSON
    std::uint8_t version = 0;  // 0
    std::uint32_t serial = 0;
    std::uint32_t body_len = 0;
    std::array<unsigned char, 20> sha1{};
};

// SHA-1 of data (20 bytes).
std::array<unsigned char, 20> sha1(std::string_view data);
// Lowercase hex MD5 of text: Trd_UnlockTrade's pwdMD5 (brokers.md §2.5).
std::string md5_hex(std::string_view text);

// "FT", proto id, format 0, version 0, serial, body length, SHA-1 of the body, 8 zero bytes,
// then the body.
std::string pack(std::uint32_t proto_id, std::uint32_t serial, std::string_view body);
// The header of 44 bytes; throws ProtocolError when the flag is not "FT", the format not 0
// (protobuf) or the body longer than kMaxBody.
class ProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
Header parse_header(std::string_view bytes44);

struct Frame {
    Header header;
    std::string body;
};

// Feed it whatever the socket gave (any split); next() returns complete frames in order.
// A bad header or a body whose SHA-1 differs throws ProtocolError: the stream cannot be
// trusted after that, so the caller drops the connection (and reconnects, reconciles).
class FrameReader {
public:
    void feed(std::string_view bytes) { buf_.append(bytes); }
    std::optional<Frame> next();
    std::size_t buffered() const { return buf_.size(); }
    void clear() { buf_.clear(); }

private:
    std::string buf_;
};

// ---- symbols ----
enum class Market { hk, us };
struct Symbol {
    Market market = Market::us;
    std::string code;  // without the market prefix: "AAPL", "00700"
};
// "US.AAPL" / "HK.00700"; throws std::invalid_argument naming the valid forms.
Symbol parse_symbol(std::string_view s);
std::string_view market_name(Market m);  // "US", "HK"
std::int32_t trd_market(Market m);       // TrdMarket: 1 HK, 2 US
std::int32_t trd_sec_market(Market m);   // TrdSecMarket: 1 HK, 2 US
std::int32_t qot_market(Market m);       // QotMarket: 1 HK, 11 US
std::optional<Market> market_of_trd(std::int32_t trd_market);
std::string symbol_text(std::int32_t sec_market, std::string_view code);  // back to "US.AAPL"

// ---- environments (TrdEnv: 0 SIMULATE, 1 REAL) ----
enum class Env { simulate = 0, real = 1 };
std::string_view env_name(Env e);  // "simulate", "real" (the credential store's environment)
inline Env env_for(bool paper) {
    return paper ? Env::simulate : Env::real;
}

// ---- order status (Trd_Common.OrderStatus) -> OrderState ----
// Filled_All and Cancelled_Part (a partial fill, the rest cancelled) with fills are FILLED for
// what was filled; SubmitFailed, Failed, Disabled and Cancelled_All without fills are REJECTED /
// CANCELLED; TimeOut, Unknown and the in-flight states are SENT (open: reconciled later).
quant::OrderState order_state(std::int32_t futu_status, double filled_qty);
std::string_view order_status_name(std::int32_t futu_status);

// ---- quantities ----
// "" when qty can be sent; otherwise the reason it is refused (not sent).
// HK: whole board lots of lot_size; US: whole shares unless fractional is allowed.
std::string quantity_refusal(Market m, double qty, std::int32_t lot_size, bool allow_fractional);

// ---- client-side rate limits (brokers.md §2.5: PlaceOrder 15 per 30 s with >= 20 ms between
// calls, Unlock 10 per 30 s, RequestHistoryKL 60 per 30 s) ----
class RateLimit {
public:
    using Clock = std::chrono::steady_clock;
    RateLimit(int max_calls, std::chrono::milliseconds window, std::chrono::milliseconds min_gap)
        : max_(max_calls), window_(window), gap_(min_gap) {}
    // How long to wait before the next call is allowed at `now` (0 when at once).
    std::chrono::milliseconds wait_at(Clock::time_point now);
    void record(Clock::time_point now);

private:
    int max_;
    std::chrono::milliseconds window_;
    std::chrono::milliseconds gap_;
    std::deque<Clock::time_point> calls_;
};

}  // namespace quant::futu
