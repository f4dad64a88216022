#include "futu_adapter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include "InitConnect.pb.h"
#include "KeepAlive.pb.h"
#include "Qot_GetStaticInfo.pb.h"
#include "Qot_RequestHistoryKL.pb.h"
#include "Trd_GetAccList.pb.h"
#include "Trd_GetFunds.pb.h"
#include "Trd_GetHistoryOrderList.pb.h"
#include "Trd_GetOrderList.pb.h"
#include "Trd_GetPositionList.pb.h"
#include "Trd_PlaceOrder.pb.h"
#include "Trd_SubAccPush.pb.h"
#include "Trd_UnlockTrade.pb.h"
#include "Trd_UpdateOrder.pb.h"
#include "Trd_UpdateOrderFill.pb.h"
#include "quant/pq/log.hpp"

namespace quant::futu {
namespace {

using SteadyClock = std::chrono::steady_clock;

void sleep_for_ms(long long ms) {
    if (ms > 0)
        poll(nullptr, 0, static_cast<int>(ms));
}

long long ms_left(SteadyClock::time_point deadline) {
    return std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count());
}

// "YYYY-MM-DD HH:MM:SS" of a UTC time (the fake's reading; see test/fakes/futu/README.md).
std::string utc_text(std::int64_t unix_s) {
    const auto t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

template <class Rsp>
void check_ret(const Rsp& rsp, const char* what) {
    if (rsp.rettype() != 0) {
        throw quant::BrokerError(std::string("futu: ") + what + ": retType " + std::to_string(rsp.rettype()) +
                                 " " + rsp.retmsg());
    }
}

quant::OrderResult to_result(const Trd_Common::Order& o) {
    quant::OrderResult r;
    r.client_order_id = o.remark();
    r.broker_order_id = std::to_string(o.orderid());
    r.symbol = symbol_text(o.secmarket(), o.code());
    r.side = o.trdside() == 1 ? quant::Side::buy : quant::Side::sell;
    r.qty = o.qty();
    r.filled_qty = o.fillqty();
    r.avg_price = o.fillavgprice();
    r.state = order_state(o.orderstatus(), o.fillqty());
    r.message = "futu " + std::string(order_status_name(o.orderstatus()));
    if (!o.lasterrmsg().empty())
        r.message += ": " + o.lasterrmsg();
    return r;
}

}  // namespace

Settings parse_opend_address(std::string_view text, Settings base) {
    const auto colon = text.rfind(':');
    const std::string host(colon == std::string_view::npos ? text : text.substr(0, colon));
    if (host != "127.0.0.1" && host != "localhost")
        throw std::invalid_argument(
            "the OpenD address must be 127.0.0.1:PORT (loopback: OpenD's trade API needs "
            "encryption on any other address), got \"" +
            std::string(text) + "\"");
    int port = 0;
    try {
        port = colon == std::string_view::npos ? 0 : std::stoi(std::string(text.substr(colon + 1)));
    } catch (const std::exception&) {
        port = 0;
    }
    if (port <= 0 || port > 65535)
        throw std::invalid_argument("the OpenD address needs a port from 1 to 65535, got \"" +
                                    std::string(text) + "\"");
    base.host = "127.0.0.1";
    base.port = port;
    return base;
}

// ---------------------------------------------------------------- gateway

FutuGateway::FutuGateway(Settings s)
    : s_(std::move(s)), place_rl_(s_.place_per_30s, std::chrono::seconds(30), std::chrono::milliseconds(20)) {
    keepalive_ = std::thread([this] { keepalive_loop(); });
}

FutuGateway::~FutuGateway() {
    {
        const std::lock_guard<std::mutex> g(mu_);
        stop_ = true;
        close_locked();
    }
    cv_.notify_all();
    keepalive_.join();
}

bool FutuGateway::connected() const {
    const std::lock_guard<std::mutex> g(mu_);
    return fd_ >= 0;
}

void FutuGateway::close() {
    const std::lock_guard<std::mutex> g(mu_);
    close_locked();
}

void FutuGateway::close_locked() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    conn_id_ = 0;
    reader_.clear();
    accounts_loaded_ = false;
    unlocked_ = false;         // unlock again after a reconnect (OpenD may have restarted)
    push_subscribed_ = false;  // a subscription is per connection
}

void FutuGateway::send_all(const std::string& bytes) {
    std::size_t off = 0;
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(s_.timeout_ms);
    while (off < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            pollfd p{fd_, POLLOUT, 0};
            if (poll(&p, 1, static_cast<int>(ms_left(deadline))) <= 0)
                throw quant::BrokerError("futu: sending to OpenD timed out");
            continue;
        }
        throw quant::BrokerError(std::string("futu: sending to OpenD failed: ") + std::strerror(errno));
    }
    last_sent_ = SteadyClock::now();
}

void FutuGateway::open_locked() {
    close_locked();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw quant::BrokerError(std::string("futu: socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(s_.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc < 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = poll(&p, 1, static_cast<int>(s_.connect_timeout_ms));
        int err = 0;
        socklen_t len = sizeof err;
        if (rc <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            ::close(fd);
            throw quant::BrokerError(
                "futu: OpenD at 127.0.0.1:" + std::to_string(s_.port) +
                " is not reachable: " + (rc <= 0 ? "connect timed out" : std::strerror(err)));
        }
    } else if (rc < 0) {
        const int err = errno;
        ::close(fd);
        throw quant::BrokerError("futu: OpenD at 127.0.0.1:" + std::to_string(s_.port) +
                                 " is not reachable: " + std::strerror(err));
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
    // InitConnect first (brokers.md §2.1, §2.5)
    InitConnect::Request req;
    auto* c2s = req.mutable_c2s();
    c2s->set_clientver(300);
    c2s->set_clientid("quant-worker");
    c2s->set_recvnotify(false);
    c2s->set_packetencalgo(-1);  // none: OpenD on loopback
    c2s->set_pushprotofmt(0);
    c2s->set_programminglanguage("C++");
    InitConnect::Response rsp;
    try {
        call_locked(kInitConnect, req, rsp);
        check_ret(rsp, "InitConnect");
    } catch (...) {
        close_locked();
        throw;
    }
    conn_id_ = rsp.s2c().connid();
    keepalive_s_ = std::max(1, rsp.s2c().keepaliveinterval());
    pq::log_info("futu_connected",
                 {{"port", s_.port}, {"conn_id", std::to_string(conn_id_)}, {"keepalive_s", keepalive_s_}});
    if (!push_accounts_.empty())
        subscribe_locked();  // the pushes of a new connection (throws only when the connection went)
    cv_.notify_all();
}

void FutuGateway::ensure() {
    const std::lock_guard<std::mutex> g(mu_);
    if (fd_ >= 0)
        pump_locked(0);  // takes the pushes that came meanwhile; notices a connection OpenD closed
    if (fd_ >= 0)
        return;
    // reconnect with back-off: 100 ms, 200 ms, 400 ms ... then give up (the worker backs off too)
    long wait = 100;
    for (int attempt = 1;; ++attempt) {
        try {
            open_locked();
            if (attempt > 1 || reconnects_ > 0)
                pq::log_info("futu_reconnected", {{"attempt", attempt}});
            ++reconnects_;
            return;
        } catch (const quant::BrokerError& e) {
            if (attempt >= s_.reconnect_attempts)
                throw;
            pq::log_warn("futu_connect_retry",
                         {{"attempt", attempt}, {"wait_ms", wait}, {"error", e.what()}});
            sleep_for_ms(wait);
            wait = std::min<long>(wait * 2, 5000);
        }
    }
}

void FutuGateway::call(std::uint32_t proto, const google::protobuf::Message& req,
                       google::protobuf::Message& rsp) {
    const std::lock_guard<std::mutex> g(mu_);
    if (fd_ < 0) {
        open_locked();
        ++reconnects_;
    }
    call_locked(proto, req, rsp);
}

void FutuGateway::call_locked(std::uint32_t proto, const google::protobuf::Message& req,
                              google::protobuf::Message& rsp) {
    if (fd_ < 0)
        throw quant::BrokerError("futu: not connected to OpenD");
    // the serial increases per connection; it wraps far below 2^32 (py-futu-api's rule)
    serial_ = serial_ >= 0x7FFFFFF0U ? 1 : serial_ + 1;
    const std::uint32_t serial = serial_;
    try {
        send_all(pack(proto, serial, req.SerializeAsString()));
        const auto deadline = SteadyClock::now() + std::chrono::milliseconds(s_.timeout_ms);
        char buf[65536];
        for (;;) {
            while (auto f = reader_.next()) {
                if (f->header.proto_id == proto && f->header.serial == serial) {
                    if (!rsp.ParseFromString(f->body))
                        throw ProtocolError("futu: the reply to proto " + std::to_string(proto) +
                                            " is not its Response message");
                    return;
                }
                if (f->header.proto_id == kTrdUpdateOrder || f->header.proto_id == kTrdUpdateOrderFill) {
                    handle_push_locked(f->header.proto_id, f->body);
                    continue;
                }
                pq::log_debug("futu_skipped", {{"proto", f->header.proto_id}, {"serial", f->header.serial}});
            }
            pollfd p{fd_, POLLIN, 0};
            const int pr = poll(&p, 1, static_cast<int>(ms_left(deadline)));
            if (pr == 0)
                throw quant::BrokerError("futu: no reply to proto " + std::to_string(proto) + " within " +
                                         std::to_string(s_.timeout_ms) + " ms");
            if (pr < 0 && errno == EINTR)
                continue;
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0)
                throw quant::BrokerError("futu: OpenD closed the connection (proto " + std::to_string(proto) +
                                         ")");
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                throw quant::BrokerError(std::string("futu: reading from OpenD failed: ") +
                                         std::strerror(errno));
            }
            reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        }
    } catch (const ProtocolError& e) {
        pq::log_error("futu_protocol_error", {{"proto", proto}, {"error", e.what()}});
        close_locked();
        throw quant::BrokerError(std::string(e.what()) + " (connection dropped)");
    } catch (const quant::BrokerError&) {
        close_locked();
        throw;
    }
}

void FutuGateway::keepalive_loop() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
        // every keepAliveInterval * 4/5 seconds (py-futu-api's pace), while connected
        const auto every = std::chrono::milliseconds(keepalive_s_ * 800);
        cv_.wait_for(lk, every, [&] { return stop_; });
        if (stop_ || fd_ < 0)
            continue;
        if (SteadyClock::now() - last_sent_ < every / 2)
            continue;  // other requests keep it alive too; still send at the interval
        KeepAlive::Request req;
        req.mutable_c2s()->set_time(now_s());
        KeepAlive::Response rsp;
        try {
            call_locked(kKeepAlive, req, rsp);
            ++keepalives_;
        } catch (const quant::BrokerError& e) {
            pq::log_warn("futu_keepalive_failed", {{"error", e.what()}});
        }
    }
}

std::uint32_t FutuGateway::next_packet_serial() {
    const std::lock_guard<std::mutex> g(mu_);
    return ++packet_serial_;
}

void FutuGateway::wait_for(RateLimit& rl) {
    for (;;) {
        std::chrono::milliseconds w;
        {
            const std::lock_guard<std::mutex> g(mu_);
            const auto now = RateLimit::Clock::now();
            w = rl.wait_at(now);
            if (w.count() == 0) {
                rl.record(now);
                return;
            }
        }
        pq::log_debug("futu_rate_limit", {{"wait_ms", static_cast<std::int64_t>(w.count())}});
        sleep_for_ms(w.count());
    }
}

const std::vector<Account>& FutuGateway::accounts() {
    ensure();
    {
        const std::lock_guard<std::mutex> g(mu_);
        if (accounts_loaded_)
            return accounts_;
    }
    Trd_GetAccList::Request req;
    req.mutable_c2s()->set_userid(0);
    req.mutable_c2s()->set_trdcategory(1);  // securities
    Trd_GetAccList::Response rsp;
    call(kTrdGetAccList, req, rsp);
    check_ret(rsp, "Trd_GetAccList");
    const std::lock_guard<std::mutex> g(mu_);
    accounts_.clear();
    for (const auto& a : rsp.s2c().acclist()) {
        Account acc;
        acc.env = a.trdenv() == 1 ? Env::real : Env::simulate;
        acc.acc_id = a.accid();
        acc.markets.assign(a.trdmarketauthlist().begin(), a.trdmarketauthlist().end());
        accounts_.push_back(acc);
    }
    accounts_loaded_ = true;
    return accounts_;
}

void FutuGateway::unlock(const std::string& password) {
    {
        const std::lock_guard<std::mutex> g(mu_);
        if (unlocked_ && fd_ >= 0)
            return;
    }
    if (password.empty())
        throw quant::BrokerError(
            "futu: REAL trading needs the trade password (quant.set_broker_credential('FUTU', "
            "'real', account, trade_password)): not unlocked, fail closed");
    wait_for(unlock_rl_);
    Trd_UnlockTrade::Request req;
    std::string md5 = md5_hex(password);
    req.mutable_c2s()->set_unlock(true);
    req.mutable_c2s()->set_pwdmd5(md5);
    OPENSSL_cleanse(md5.data(), md5.size());
    Trd_UnlockTrade::Response rsp;
    call(kTrdUnlockTrade, req, rsp);
    if (rsp.rettype() != 0) {
        pq::log_error("futu_unlock_failed", {{"ret_type", rsp.rettype()}, {"reason", rsp.retmsg()}});
        throw quant::BrokerError("futu: Trd_UnlockTrade refused (" + rsp.retmsg() +
                                 "): REAL trading stays locked, fail closed");
    }
    const std::lock_guard<std::mutex> g(mu_);
    unlocked_ = true;
    pq::log_info("futu_unlocked", {{"note", "REAL trading unlocked on this OpenD"}});
}

void FutuGateway::subscribe(std::uint64_t acc_id) {
    const std::lock_guard<std::mutex> g(mu_);
    if (push_accounts_.count(acc_id) > 0 && (push_subscribed_ || fd_ < 0))
        return;  // subscribed, or it will be at the next connect
    push_accounts_.insert(acc_id);
    if (fd_ >= 0)
        subscribe_locked();
}

void FutuGateway::subscribe_locked() {
    Trd_SubAccPush::Request req;
    for (const std::uint64_t a : push_accounts_)
        req.mutable_c2s()->add_accidlist(a);  // the full list: each call replaces the last
    Trd_SubAccPush::Response rsp;
    call_locked(kTrdSubAccPush, req, rsp);
    push_subscribed_ = rsp.rettype() == 0;
    if (push_subscribed_)
        pq::log_info("futu_push_subscribed",
                     {{"accounts", static_cast<std::int64_t>(push_accounts_.size())}});
    else
        pq::log_warn("futu_push_refused", {{"ret_type", rsp.rettype()},
                                           {"reason", rsp.retmsg()},
                                           {"note", "orders are followed by polling only"}});
}

bool FutuGateway::pushes_for(std::uint64_t acc_id) const {
    const std::lock_guard<std::mutex> g(mu_);
    return fd_ >= 0 && push_subscribed_ && push_accounts_.count(acc_id) > 0;
}

void FutuGateway::handle_push_locked(std::uint32_t proto, const std::string& body) {
    if (proto == kTrdUpdateOrder) {
        Trd_UpdateOrder::Response rsp;
        if (!rsp.ParseFromString(body) || rsp.rettype() != 0 || !rsp.has_s2c())
            return;
        const auto& o = rsp.s2c().order();
        if (o.remark().empty())
            return;  // not one of ours (every order we place carries its client order id)
        if (pushed_orders_.size() > 4096)
            pushed_orders_.clear();  // followers take theirs at once; this only bounds a leak
        pushed_orders_[o.remark()] = to_result(o);
        ++pushes_;
        pq::log_debug("futu_push", {{"proto", proto},
                                    {"remark", o.remark()},
                                    {"status", std::string(order_status_name(o.orderstatus()))}});
        return;
    }
    Trd_UpdateOrderFill::Response rsp;
    if (!rsp.ParseFromString(body) || rsp.rettype() != 0 || !rsp.has_s2c())
        return;
    const auto& f = rsp.s2c().orderfill();
    if (!f.has_orderid())
        return;
    if (pushed_fills_.size() > 4096)
        pushed_fills_.clear();
    PushedFills& sum = pushed_fills_[f.orderid()];
    if (!sum.fill_ids.insert(f.fillid()).second)
        return;  // a fill pushed twice counts once
    sum.qty += f.qty();
    sum.value += f.qty() * f.price();
    ++pushes_;
    pq::log_debug("futu_push",
                  {{"proto", proto}, {"order_id", std::to_string(f.orderid())}, {"qty", f.qty()}});
}

void FutuGateway::pump_locked(long wait_ms) {
    if (fd_ < 0)
        return;
    try {
        // frames already read along with a reply (a push often shares its TCP segment) come first
        const auto drain = [this] {
            bool pushed = false;
            while (auto f = reader_.next()) {
                if (f->header.proto_id == kTrdUpdateOrder || f->header.proto_id == kTrdUpdateOrderFill) {
                    handle_push_locked(f->header.proto_id, f->body);
                    pushed = true;
                } else {
                    pq::log_debug("futu_skipped",
                                  {{"proto", f->header.proto_id}, {"serial", f->header.serial}});
                }
            }
            return pushed;
        };
        if (drain())
            return;
        const auto deadline = SteadyClock::now() + std::chrono::milliseconds(wait_ms);
        char buf[65536];
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            const int pr = poll(&p, 1, static_cast<int>(ms_left(deadline)));
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                return;
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0)
                throw quant::BrokerError("futu: OpenD closed the connection (waiting for pushes)");
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                throw quant::BrokerError(std::string("futu: reading from OpenD failed: ") +
                                         std::strerror(errno));
            }
            reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
            if (drain())
                return;  // let the caller look
        }
    } catch (const std::exception& e) {
        // the follower polls next, which reconnects and reconciles
        pq::log_warn("futu_push_connection_lost", {{"error", e.what()}});
        close_locked();
    }
}

std::optional<quant::OrderResult> FutuGateway::pushed_order(const std::string& remark, std::uint64_t order_id,
                                                            const quant::OrderResult& ack, long wait_ms) {
    const std::lock_guard<std::mutex> g(mu_);
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(std::max<long>(0, wait_ms));
    for (bool first = true;; first = false) {
        pump_locked(first ? 0 : static_cast<long>(ms_left(deadline)));  // what is there, then wait
        if (const auto it = pushed_orders_.find(remark); it != pushed_orders_.end()) {
            if (quant::is_terminal(it->second.state)) {
                quant::OrderResult r = it->second;
                pushed_orders_.erase(it);
                pushed_fills_.erase(order_id);
                return r;
            }
        }
        if (const auto it = pushed_fills_.find(order_id);
            it != pushed_fills_.end() && ack.qty > 0 && it->second.qty >= ack.qty * (1 - 1e-9)) {
            quant::OrderResult r = ack;  // every share filled: the fill pushes alone settle it
            r.state = quant::OrderState::filled;
            r.filled_qty = it->second.qty;
            r.avg_price = it->second.value / it->second.qty;
            r.message = "futu Filled_All (from Trd_UpdateOrderFill pushes)";
            pushed_fills_.erase(it);
            pushed_orders_.erase(remark);
            return r;
        }
        if (fd_ < 0 || ms_left(deadline) <= 0)
            return std::nullopt;
    }
}

void FutuGateway::forget_pushes(const std::string& remark, std::uint64_t order_id) {
    const std::lock_guard<std::mutex> g(mu_);
    pushed_orders_.erase(remark);
    pushed_fills_.erase(order_id);
}

std::int32_t FutuGateway::lot_size(const Symbol& sym) {
    const std::string key = std::string(market_name(sym.market)) + "." + sym.code;
    {
        const std::lock_guard<std::mutex> g(mu_);
        if (const auto it = lots_.find(key); it != lots_.end())
            return it->second;
    }
    Qot_GetStaticInfo::Request req;
    auto* sec = req.mutable_c2s()->add_securitylist();
    sec->set_market(qot_market(sym.market));
    sec->set_code(sym.code);
    Qot_GetStaticInfo::Response rsp;
    call(kQotGetStaticInfo, req, rsp);
    check_ret(rsp, "Qot_GetStaticInfo");
    for (const auto& info : rsp.s2c().staticinfolist()) {
        if (info.basic().security().code() == sym.code) {
            const std::lock_guard<std::mutex> g(mu_);
            return lots_[key] = info.basic().lotsize();
        }
    }
    throw quant::BrokerError("futu: OpenD does not know the security " + key);
}

// ---------------------------------------------------------------- adapter

FutuAdapter::FutuAdapter(FutuGateway& gateway, Target target)
    : gw_(gateway), t_(std::move(target)), sym_(parse_symbol(t_.symbol)) {}

FutuAdapter::~FutuAdapter() {
    if (!t_.trade_password.empty())
        OPENSSL_cleanse(t_.trade_password.data(), t_.trade_password.size());
}

void FutuAdapter::require_connected() const {
    if (!connected_)
        throw quant::BrokerError("futu: not connected");
}

void FutuAdapter::connect() {
    gw_.ensure();
    const std::int32_t market = trd_market(sym_.market);
    acc_id_ = 0;
    for (const Account& a : gw_.accounts()) {
        if (a.env != t_.env || std::find(a.markets.begin(), a.markets.end(), market) == a.markets.end())
            continue;
        if (t_.acc_id && a.acc_id != *t_.acc_id)
            continue;
        acc_id_ = a.acc_id;
        break;
    }
    if (acc_id_ != 0)
        gw_.subscribe(acc_id_);  // order pushes; polling stays the fallback
    if (acc_id_ == 0) {
        throw quant::BrokerError("futu: OpenD has no " + std::string(env_name(t_.env)) +
                                 " account for market " + std::string(market_name(sym_.market)) +
                                 (t_.acc_id ? " with accID " + std::to_string(*t_.acc_id) : std::string()));
    }
    if (t_.env == Env::real)
        gw_.unlock(t_.trade_password);  // REAL only; a refusal fails closed
    connected_ = true;
}

template <class Req>
static void fill_header(Req* c2s, Env env, std::uint64_t acc, Market m) {
    auto* h = c2s->mutable_header();
    h->set_trdenv(static_cast<std::int32_t>(env));
    h->set_accid(acc);
    h->set_trdmarket(trd_market(m));
}

std::optional<quant::OrderResult> FutuAdapter::find(std::string_view remark, bool history) {
    const auto pick = [&](const auto& list) -> std::optional<quant::OrderResult> {
        for (const auto& o : list) {
            if (o.remark() == remark)
                return to_result(o);
        }
        return std::nullopt;
    };
    if (!history) {
        Trd_GetOrderList::Request req;
        fill_header(req.mutable_c2s(), t_.env, acc_id_, sym_.market);
        Trd_GetOrderList::Response rsp;
        gw_.call(kTrdGetOrderList, req, rsp);
        check_ret(rsp, "Trd_GetOrderList");
        return pick(rsp.s2c().orderlist());
    }
    Trd_GetHistoryOrderList::Request req;
    fill_header(req.mutable_c2s(), t_.env, acc_id_, sym_.market);
    auto* f = req.mutable_c2s()->mutable_filterconditions();
    f->set_begintime(utc_text(now_s() - std::int64_t{90} * 86400));
    f->set_endtime(utc_text(now_s() + 86400));
    Trd_GetHistoryOrderList::Response rsp;
    gw_.call(kTrdGetHistoryOrderList, req, rsp);
    check_ret(rsp, "Trd_GetHistoryOrderList");
    return pick(rsp.s2c().orderlist());
}

std::optional<quant::OrderResult> FutuAdapter::order_by_client_id(std::string_view client_order_id) {
    require_connected();
    if (auto o = find(client_order_id, false))
        return o;
    return find(client_order_id, true);
}

quant::OrderResult FutuAdapter::follow(const std::string& client_order_id, const quant::OrderResult& ack) {
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(gw_.settings().follow_ms);
    quant::OrderResult last = ack;
    std::uint64_t order_id = 0;
    try {
        order_id = ack.broker_order_id.empty() ? 0 : std::stoull(ack.broker_order_id);
    } catch (const std::exception&) {
        order_id = 0;
    }
    for (;;) {
        // the pushes first (Trd_UpdateOrder / Trd_UpdateOrderFill), for up to one poll interval;
        // then the order list: the fallback when pushes stop (or never come)
        const bool push = gw_.pushes_for(acc_id_);
        if (push) {
            const long wait = std::min<long>(gw_.settings().poll_ms, static_cast<long>(ms_left(deadline)));
            if (auto p = gw_.pushed_order(client_order_id, order_id, ack, wait)) {
                pq::log_debug("futu_order_pushed",
                              {{"client_order_id", client_order_id},
                               {"state", std::string(quant::order_state_name(p->state))}});
                return *p;
            }
        }
        if (auto o = order_by_client_id(client_order_id)) {
            last = *o;
            if (quant::is_terminal(last.state)) {
                gw_.forget_pushes(client_order_id, order_id);
                return last;
            }
        }
        if (SteadyClock::now() >= deadline)
            break;
        if (!push)
            sleep_for_ms(gw_.settings().poll_ms);
    }
    pq::log_warn("futu_order_open", {{"client_order_id", client_order_id},
                                     {"filled_qty", last.filled_qty},
                                     {"note", "still open at the deadline: SENT, reconciled later"}});
    last.state = quant::OrderState::sent;
    return last;
}

quant::OrderResult FutuAdapter::place_order(std::string_view symbol, double qty, quant::Side side,
                                            std::string_view client_order_id, std::string_view order_type,
                                            std::optional<double> price) {
    require_connected();
    quant::OrderResult out;
    out.client_order_id = std::string(client_order_id);
    out.symbol = std::string(symbol);
    out.side = side;
    out.qty = qty;
    auto refuse = [&](const std::string& why) {
        out.state = quant::OrderState::rejected;
        out.message = "not sent: " + why;
        pq::log_warn("futu_order_refused", {{"client_order_id", client_order_id}, {"reason", why}});
        return out;
    };
    if (symbol != t_.symbol)
        return refuse("the adapter trades " + t_.symbol + ", not " + std::string(symbol));
    const bool limit = order_type == "LIMIT";
    if (!limit && order_type != "MARKET")
        return refuse("order type " + std::string(order_type) + " (MARKET or LIMIT)");
    if (client_order_id.size() > 64)
        return refuse("the client order id is longer than remark's 64 bytes");
    const std::int32_t lot = sym_.market == Market::hk ? gw_.lot_size(sym_) : 1;
    const bool fractional = gw_.settings().fractional_accounts.count(acc_id_) > 0;
    if (const std::string why = quantity_refusal(sym_.market, qty, lot, fractional); !why.empty())
        return refuse(why);

    Trd_PlaceOrder::Request req;
    auto* c = req.mutable_c2s();
    fill_header(c, t_.env, acc_id_, sym_.market);
    c->set_trdside(side == quant::Side::buy ? 1 : 2);
    c->set_ordertype(limit ? 1 : 2);  // 1 Normal (limit), 2 Market
    c->set_code(sym_.code);
    c->set_qty(qty);
    if (limit && price)
        c->set_price(std::round(*price * 1000) / 1000);  // 3 dp (brokers.md §2.2)
    c->set_secmarket(trd_sec_market(sym_.market));
    c->set_remark(std::string(client_order_id));  // Futu has no client order id: ours is the remark
    Trd_PlaceOrder::Response rsp;
    gw_.wait_for(gw_.place_limit());
    try {
        gw_.ensure();
        c->mutable_packetid()->set_connid(gw_.conn_id());
        c->mutable_packetid()->set_serialno(gw_.next_packet_serial());
        gw_.call(kTrdPlaceOrder, req, rsp);
    } catch (const quant::BrokerError& e) {
        // the order may have reached OpenD: look it up by remark before anything else; never re-send here
        pq::log_warn("futu_place_in_doubt", {{"client_order_id", client_order_id}, {"error", e.what()}});
        gw_.ensure();
        if (t_.env == Env::real)
            gw_.unlock(t_.trade_password);
        if (auto found = order_by_client_id(client_order_id))
            return quant::is_terminal(found->state) ? *found : follow(out.client_order_id, *found);
        throw;  // not at OpenD: the outcome stays unknown; reconciliation decides (NEW is re-sent there)
    }
    if (rsp.rettype() != 0) {
        out.state = quant::OrderState::rejected;
        out.message = "futu Trd_PlaceOrder retType " + std::to_string(rsp.rettype()) + ": " + rsp.retmsg();
        return out;
    }
    out.broker_order_id = std::to_string(rsp.s2c().orderid());
    out.state = quant::OrderState::sent;
    return follow(out.client_order_id, out);
}

std::vector<quant::PositionInfo> FutuAdapter::get_positions() {
    require_connected();
    Trd_GetPositionList::Request req;
    fill_header(req.mutable_c2s(), t_.env, acc_id_, sym_.market);
    Trd_GetPositionList::Response rsp;
    gw_.call(kTrdGetPositionList, req, rsp);
    check_ret(rsp, "Trd_GetPositionList");
    std::vector<quant::PositionInfo> out;
    for (const auto& p : rsp.s2c().positionlist()) {
        const std::int32_t sec = p.has_secmarket() ? p.secmarket() : trd_sec_market(sym_.market);
        const double q = p.positionside() == 1 ? -p.qty() : p.qty();
        if (q == 0)
            continue;
        out.push_back({.symbol = symbol_text(sec, p.code()),
                       .qty = q,
                       .avg_price = p.has_averagecostprice() ? p.averagecostprice() : p.costprice()});
    }
    return out;
}

std::vector<quant::OrderResult> FutuAdapter::get_orders() {
    require_connected();
    Trd_GetOrderList::Request req;
    fill_header(req.mutable_c2s(), t_.env, acc_id_, sym_.market);
    Trd_GetOrderList::Response rsp;
    gw_.call(kTrdGetOrderList, req, rsp);
    check_ret(rsp, "Trd_GetOrderList");
    std::vector<quant::OrderResult> out;
    for (const auto& o : rsp.s2c().orderlist())
        out.push_back(to_result(o));
    return out;
}

quant::AccountInfo FutuAdapter::get_account_info() {
    require_connected();
    Trd_GetFunds::Request req;
    fill_header(req.mutable_c2s(), t_.env, acc_id_, sym_.market);
    req.mutable_c2s()->set_currency(sym_.market == Market::hk ? 1 : 2);  // HKD, USD
    Trd_GetFunds::Response rsp;
    gw_.call(kTrdGetFunds, req, rsp);
    check_ret(rsp, "Trd_GetFunds");
    if (!rsp.s2c().has_funds())
        throw quant::BrokerError("futu: Trd_GetFunds answered without funds (cash unknown: fail closed)");
    quant::AccountInfo info;
    info.account = std::to_string(acc_id_);
    info.cash = rsp.s2c().funds().cash();
    info.starting_cash = rsp.s2c().funds().totalassets();
    info.currency = sym_.market == Market::hk ? "HKD" : "USD";
    return info;
}

std::vector<quant::BarData> FutuAdapter::fetch_klines(std::string_view symbol, std::string_view interval,
                                                      std::int64_t start_us, std::size_t limit) {
    const Symbol sym = parse_symbol(symbol);
    std::int32_t kl_type = 0;
    std::int64_t step_s = 0;
    if (interval == "D" || interval == "1d") {
        kl_type = 2;
        step_s = 86400;
    } else if (interval == "60" || interval == "1h") {
        kl_type = 9;
        step_s = 3600;
    } else {
        throw quant::BrokerError("futu: K-line interval " + std::string(interval) + " (D or 60)");
    }
    const std::int64_t now = now_s();
    std::vector<quant::BarData> out;
    std::string next_key;
    for (int page = 0; page < 1000; ++page) {
        Qot_RequestHistoryKL::Request req;
        auto* c = req.mutable_c2s();
        c->set_rehabtype(1);  // forward-adjusted
        c->set_kltype(kl_type);
        c->mutable_security()->set_market(qot_market(sym.market));
        c->mutable_security()->set_code(sym.code);
        c->set_begintime(utc_text(start_us / 1'000'000));
        c->set_endtime(utc_text(now));
        c->set_maxackklnum(1000);
        c->set_needklfieldsflag(1 | 2 | 4 | 8 | 32);  // high, open, low, close, volume
        if (!next_key.empty())
            c->set_nextreqkey(next_key);
        if (page == 0)
            gw_.wait_for(gw_.kline_limit());  // only the first page counts (brokers.md §2.5)
        Qot_RequestHistoryKL::Response rsp;
        gw_.call(kQotRequestHistoryKL, req, rsp);
        check_ret(rsp, "Qot_RequestHistoryKL");
        for (const auto& k : rsp.s2c().kllist()) {
            if (k.isblank() || !k.has_timestamp())
                continue;
            const auto ts = static_cast<std::int64_t>(k.timestamp());
            if (ts + step_s > now)
                continue;  // the forming bar
            out.push_back({.ts_us = ts * 1'000'000,
                           .open = k.openprice(),
                           .high = k.highprice(),
                           .low = k.lowprice(),
                           .close = k.closeprice(),
                           .volume = static_cast<double>(k.volume())});
        }
        next_key = rsp.s2c().nextreqkey();
        if (next_key.empty())
            break;
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts_us < b.ts_us; });
    out.erase(
        std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ts_us == b.ts_us; }),
        out.end());
    if (limit > 0 && out.size() > limit)
        out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
    return out;
}

std::vector<quant::BarData> FutuAdapter::fetch_bars(std::string_view symbol, std::string_view interval,
                                                    std::int64_t start_us, std::int64_t now_us) {
    if (interval != "1d" && interval != "1h")
        throw quant::BrokerError("futu: no K-lines at interval " + std::string(interval) + " (1d or 1h)");
    gw_.ensure();
    const std::int64_t step_us = (interval == "1h" ? 3600 : 86400) * std::int64_t{1'000'000};
    std::vector<quant::BarData> bars = fetch_klines(symbol, interval, start_us, 0);
    // the feed's clock decides what is still forming, and nothing before start_us
    std::erase_if(bars,
                  [&](const quant::BarData& b) { return b.ts_us < start_us || b.ts_us + step_us > now_us; });
    return bars;
}

}  // namespace quant::futu
