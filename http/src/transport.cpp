#include "transport.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace quant::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// What every listener and connection shares: the limits, the connection table, the counters.
struct Shared {
    Limits limits;
    net::io_context* offload = nullptr;  // the threads of the requests that run long
    std::atomic<bool> stopping{false};
    std::atomic<long long> busy{0};
    std::atomic<long long> refused_total{0};
    std::atomic<long long> refused_address{0};
    std::atomic<long long> head_timeouts{0};
    std::atomic<long long> body_timeouts{0};
    std::atomic<long long> head_too_large{0};
    std::atomic<long long> body_too_large{0};
    std::atomic<long long> tls_failures{0};

    std::mutex mu;
    long long open = 0;
    std::unordered_map<std::string, int> per_addr;

    enum class Admit { ok, total, address };
    Admit admit(const std::string& addr) {
        const std::lock_guard lock(mu);
        if (open >= limits.max_connections)
            return Admit::total;
        int& n = per_addr[addr];
        if (n >= limits.max_connections_per_addr)
            return Admit::address;
        ++n;
        ++open;
        return Admit::ok;
    }
    void leave(const std::string& addr) {
        const std::lock_guard lock(mu);
        --open;
        const auto it = per_addr.find(addr);
        if (it != per_addr.end() && --it->second <= 0)
            per_addr.erase(it);
    }
};

struct Endpoint {
    Transport::Handler handler;
    Transport::ErrorHandler errors;
    Transport::Offload offload;         // empty: every request runs on its connection's loop
    std::shared_ptr<ssl::context> tls;  // null: plain HTTP
};

Request partial_request(const std::string& addr) {
    Request r;
    r.remote_addr = addr;
    return r;
}

bool is_disconnect(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
           ec == net::error::operation_aborted || ec == net::error::broken_pipe ||
           ec == ssl::error::stream_truncated;
}

// One connection: head, body, handler on a worker, response, and again while kept alive.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

public:
    Session(tcp::socket&& socket, Shared& shared, const Endpoint& ep, std::string addr)
        : shared_(shared),
          ep_(ep),
          stream_(make_stream(std::move(socket), ep)),
          buffer_(shared.limits.max_head_bytes + 65536),
          addr_(std::move(addr)) {}
    ~Session() {
        if (busy_)
            --shared_.busy;
        shared_.leave(addr_);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() {
        lowest().expires_after(shared_.limits.head_timeout);
        if constexpr (kTls) {
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](error_code ec) {
                                        if (ec) {
                                            ++self->shared_.tls_failures;
                                            return;
                                        }
                                        self->read_head();
                                    });
        } else {
            read_head();
        }
    }

private:
    static Stream make_stream(tcp::socket&& socket, const Endpoint& ep) {
        if constexpr (kTls) {
            return Stream(std::move(socket), *ep.tls);
        } else {
            (void)ep;
            return Stream(std::move(socket));
        }
    }
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

    // Keep-alive: the next request's first byte within the idle time, then its whole head
    // within the head deadline.
    void wait_next() {
        if (buffer_.size() > 0) {
            lowest().expires_after(shared_.limits.head_timeout);
            read_head();
            return;
        }
        lowest().expires_after(shared_.limits.idle_timeout);
        stream_.async_read_some(buffer_.prepare(4096),
                                [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                    if (ec)
                                        return;  // idle too long, or gone: the session ends
                                    self->buffer_.commit(n);
                                    self->lowest().expires_after(self->shared_.limits.head_timeout);
                                    self->read_head();
                                });
    }

    void read_head() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(shared_.limits.max_head_bytes));
        parser_->body_limit(shared_.limits.max_body_bytes);
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            [self = this->shared_from_this()](error_code ec, std::size_t /*n*/) { self->on_head(ec); });
    }

    void on_head(error_code ec) {
        const Limits& lim = shared_.limits;
        if (ec == beast::error::timeout) {
            ++shared_.head_timeouts;  // the socket is closed already: nothing can be said
            return;
        }
        if (is_disconnect(ec))
            return;
        if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
            ++shared_.head_too_large;
            refuse(431,
                   "the request head is over the limit of " + std::to_string(lim.max_head_bytes) + " bytes");
            return;
        }
        if (ec == bhttp::error::body_limit) {
            ++shared_.body_too_large;
            refuse(413, "the body is over the limit of " + std::to_string(lim.max_body_bytes) + " bytes");
            return;
        }
        if (ec) {
            refuse(400, "the request could not be read");
            return;
        }
        const auto& head = parser_->get();
        if (std::distance(head.begin(), head.end()) > lim.max_header_fields) {
            ++shared_.head_too_large;
            refuse(431, "more than " + std::to_string(lim.max_header_fields) + " header fields");
            return;
        }
        if (parser_->is_done()) {
            dispatch();
            return;
        }
        lowest().expires_after(lim.body_timeout);
        if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
            auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
            bhttp::async_write(stream_, *cont,
                               [self = this->shared_from_this(), cont](error_code wec, std::size_t /*n*/) {
                                   if (!wec)
                                       self->read_body();
                               });
            return;
        }
        read_body();
    }

    void read_body() {
        bhttp::async_read(
            stream_, buffer_, *parser_,
            [self = this->shared_from_this()](error_code ec, std::size_t /*n*/) { self->on_body(ec); });
    }

    void on_body(error_code ec) {
        if (ec == beast::error::timeout) {
            ++shared_.body_timeouts;
            return;
        }
        if (is_disconnect(ec))
            return;
        if (ec == bhttp::error::body_limit) {
            ++shared_.body_too_large;
            refuse(413, "the body is over the limit of " + std::to_string(shared_.limits.max_body_bytes) +
                            " bytes");
            return;
        }
        if (ec) {
            refuse(400, "the body could not be read");
            return;
        }
        dispatch();
    }

    // The request is answered in this connection's strand.
    void dispatch() {
        busy_ = true;
        ++shared_.busy;
        auto msg = parser_->release();
        parser_.reset();
        auto req = std::make_shared<Request>();
        req->method = std::string(msg.method_string());
        req->remote_addr = addr_;
        for (const auto& f : msg)
            req->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        req->body = std::move(msg.body());
        const bool keep = msg.keep_alive();
        version_ = msg.version();
        if (!split_target(msg.target(), req->path, req->params)) {
            Response res;
            ep_.errors(*req, 400, "the request target is not well-formed", res);
            res.close = true;
            write(std::move(res), false);
            return;
        }
        // A request that runs long goes to the offload threads and its answer comes back to this
        // connection's strand: the loop goes on serving its other connections meanwhile.
        if (ep_.offload && shared_.offload != nullptr && ep_.offload(*req)) {
            net::post(*shared_.offload, [self = this->shared_from_this(), req, keep] {
                auto res = std::make_shared<Response>(self->answer(*req));
                net::post(self->stream_.get_executor(),
                          [self, res, keep] { self->write(std::move(*res), keep); });
            });
            return;
        }
        // Any other runs here, on the loop that read it, inside this connection's strand: no
        // hand-off to another thread and back (it blocks this loop on libpq for that long).
        write(answer(*req), keep);
    }

    Response answer(Request& req) {
        Response res;
        try {
            ep_.handler(req, res);
        } catch (const std::exception& e) {
            res = Response{};
            ep_.errors(req, 500, e.what(), res);
        }
        return res;
    }

    // A refusal by the transport itself: answered, then the connection is closed (the rest of
    // what the client sends is not read).
    void refuse(int status, const std::string& detail) {
        Response res;
        ep_.errors(partial_request(addr_), status, detail, res);
        res.close = true;
        version_ = 11;
        write(std::move(res), false);
    }

    void write(Response res, bool keep_requested) {
        ++served_;
        const bool keep = keep_requested && !res.close && served_ < shared_.limits.keep_alive_max &&
                          !shared_.stopping.load();
        res_ = {};
        res_.version(version_);
        res_.result(static_cast<unsigned>(res.status));
        for (auto& [k, v] : res.headers)
            res_.insert(k, v);
        if (!res.content_type.empty())
            res_.set(bhttp::field::content_type, res.content_type);
        res_.body() = std::move(res.body);
        res_.keep_alive(keep);
        res_.prepare_payload();
        lowest().expires_after(shared_.limits.write_timeout);
        bhttp::async_write(stream_, res_,
                           [self = this->shared_from_this(), keep](error_code ec, std::size_t) {
                               if (self->busy_) {
                                   self->busy_ = false;
                                   --self->shared_.busy;
                               }
                               if (ec)
                                   return;
                               if (keep) {
                                   self->wait_next();
                               } else {
                                   self->close();
                               }
                           });
    }

    void close() {
        if constexpr (kTls) {
            lowest().expires_after(std::chrono::seconds(1));
            stream_.async_shutdown([self = this->shared_from_this()](error_code /*ec*/) {});
        } else {
            // A lingering close: what the client still sends (the body of a refused request,
            // say) is read and dropped for a moment, so that the answer is not lost to a reset.
            error_code ec;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
            lowest().expires_after(std::chrono::seconds(2));
            drain(0);
        }
    }

    void drain(std::size_t so_far) {
        constexpr std::size_t kMaxDrained = 8u << 20;
        buffer_.consume(buffer_.size());
        stream_.async_read_some(buffer_.prepare(16384),
                                [self = this->shared_from_this(), so_far](error_code ec, std::size_t n) {
                                    if (!ec && so_far + n < kMaxDrained)
                                        self->drain(so_far + n);
                                });
    }

    Shared& shared_;
    const Endpoint& ep_;
    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> res_;
    std::string addr_;
    unsigned version_ = 11;
    int served_ = 0;
    bool busy_ = false;
};

// A connection over a cap: a short canned answer (plain HTTP) or a close (TLS), never a session.
void refuse_connection(tcp::socket&& socket, bool tls, int status, const std::string& body) {
    if (tls)
        return;  // the socket closes here
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    auto text = std::make_shared<std::string>(
        "HTTP/1.1 " + std::to_string(status) +
        (status == 429 ? " Too Many Requests" : " Service Unavailable") +
        "\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    stream->expires_after(std::chrono::seconds(1));
    net::async_write(*stream, net::buffer(*text), [stream, text](error_code ec, std::size_t) {
        if (!ec) {
            error_code ignored;
            stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
    });
}

std::string refusal_body(int status, const char* type, const char* detail) {
    return std::string(R"({"type":"https://quant.local/problems/)") + type + R"(","title":")" +
           (status == 429 ? "Too many requests" : "Service unavailable") + R"(","status":)" +
           std::to_string(status) + R"(,"detail":")" + detail + "\"}";
}

class Listener : public std::enable_shared_from_this<Listener> {
public:
    Listener(std::vector<net::io_context*> loops, Shared& shared, Endpoint ep)
        : loops_(std::move(loops)),
          shared_(shared),
          ep_(std::move(ep)),
          acceptor_(net::make_strand(*loops_.front())),
          retry_(acceptor_.get_executor()) {}

    void bind(const std::string& host, int port) {
        error_code ec;
        const auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
        if (ec)
            throw std::runtime_error("not an IP address: \"" + host + "\"");
        const tcp::endpoint at{address, static_cast<unsigned short>(port)};
        acceptor_.open(at.protocol(), ec);
        if (!ec)
            acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec)
            acceptor_.bind(at, ec);
        if (!ec)
            acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                                     ec.message());
    }
    void accept() {
        // each connection lives on one loop (round robin): its reads, its handler and its writes
        net::io_context& loop = *loops_[next_++ % loops_.size()];
        acceptor_.async_accept(
            net::make_strand(loop),
            [self = shared_from_this()](error_code ec, tcp::socket s) { self->on_accept(ec, std::move(s)); });
    }
    void close() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            error_code ec;
            self->acceptor_.close(ec);
            self->retry_.cancel();
        });
    }

private:
    void on_accept(error_code ec, tcp::socket socket) {
        if (!acceptor_.is_open() || shared_.stopping)
            return;
        if (ec) {
            // Out of descriptors, say: wait a little instead of spinning.
            retry_.expires_after(std::chrono::milliseconds(50));
            retry_.async_wait([self = shared_from_this()](error_code wec) {
                if (!wec)
                    self->accept();
            });
            return;
        }
        error_code aec;
        const auto remote = socket.remote_endpoint(aec);
        if (!aec) {
            std::string addr = remote.address().to_string();
            socket.set_option(tcp::no_delay(true), aec);
            const bool tls = ep_.tls != nullptr;
            switch (shared_.admit(addr)) {
                case Shared::Admit::ok:
                    if (tls) {
                        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                            std::move(socket), shared_, ep_, std::move(addr))
                            ->start();
                    } else {
                        std::make_shared<Session<beast::tcp_stream>>(std::move(socket), shared_, ep_,
                                                                     std::move(addr))
                            ->start();
                    }
                    break;
                case Shared::Admit::total:
                    ++shared_.refused_total;
                    refuse_connection(std::move(socket), tls, 503,
                                      refusal_body(503, "unavailable", "too many connections; retry later"));
                    break;
                case Shared::Admit::address:
                    ++shared_.refused_address;
                    refuse_connection(
                        std::move(socket), tls, 429,
                        refusal_body(429, "rate-limited", "too many connections from this address"));
                    break;
            }
        }
        accept();
    }

    std::vector<net::io_context*> loops_;
    std::size_t next_ = 0;
    Shared& shared_;
    Endpoint ep_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_;
};

}  // namespace

struct Transport::Impl {
    Shared shared;
    std::vector<std::unique_ptr<net::io_context>> loops;  // one per thread
    net::io_context offload;                              // as many threads as loops
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    std::vector<std::shared_ptr<Listener>> listeners;
    std::vector<std::thread> running;

    Impl(const Limits& limits, int n) : offload(std::max(n, 1)) {
        shared.limits = limits;
        shared.offload = &offload;
        for (int i = 0; i < std::max(n, 1); ++i)
            loops.push_back(std::make_unique<net::io_context>(1));
    }
    std::vector<net::io_context*> loop_pointers() const {
        std::vector<net::io_context*> out;
        for (const auto& l : loops)
            out.push_back(l.get());
        return out;
    }
};

Transport::Transport(const Limits& limits, int threads) : impl_(std::make_unique<Impl>(limits, threads)) {}

Transport::~Transport() {
    if (!impl_->running.empty())
        shutdown(std::chrono::milliseconds(0));
}

void Transport::listen(const std::string& host, int port, Handler handler, ErrorHandler errors,
                       Offload offload, const std::string& tls_cert, const std::string& tls_key) {
    Endpoint ep{std::move(handler), std::move(errors), std::move(offload), nullptr};
    if (!tls_cert.empty() || !tls_key.empty()) {
        if (tls_cert.empty() || tls_key.empty())
            throw std::runtime_error("TLS needs both a certificate and a key file");
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
        try {
            ctx->use_certificate_chain_file(tls_cert);
            ctx->use_private_key_file(tls_key, ssl::context::pem);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("TLS certificate " + tls_cert + " / key " + tls_key + ": " + e.what());
        }
        ep.tls = std::move(ctx);
    }
    auto l = std::make_shared<Listener>(impl_->loop_pointers(), impl_->shared, std::move(ep));
    l->bind(host, port);
    impl_->listeners.push_back(std::move(l));
}

void Transport::start() {
    for (auto& loop : impl_->loops)
        impl_->guards.push_back(net::make_work_guard(*loop));
    for (auto& l : impl_->listeners)
        l->accept();
    impl_->guards.push_back(net::make_work_guard(impl_->offload));
    for (auto& loop : impl_->loops) {
        impl_->running.emplace_back([l = loop.get()] { l->run(); });
        impl_->running.emplace_back([this] { impl_->offload.run(); });
    }
}

void Transport::shutdown(std::chrono::milliseconds grace) {
    impl_->shared.stopping = true;
    for (auto& l : impl_->listeners)
        l->close();
    const auto until = std::chrono::steady_clock::now() + grace;
    while (impl_->shared.busy.load() > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    impl_->guards.clear();
    for (auto& loop : impl_->loops)
        loop->stop();
    impl_->offload.stop();
    for (auto& t : impl_->running)
        t.join();
    impl_->running.clear();
}

TransportStats Transport::stats() const {
    const Shared& s = impl_->shared;
    TransportStats out;
    {
        const std::lock_guard lock(impl_->shared.mu);
        out.open = s.open;
    }
    out.busy = s.busy.load();
    out.refused_total = s.refused_total.load();
    out.refused_address = s.refused_address.load();
    out.head_timeouts = s.head_timeouts.load();
    out.body_timeouts = s.body_timeouts.load();
    out.head_too_large = s.head_too_large.load();
    out.body_too_large = s.body_too_large.load();
    out.tls_failures = s.tls_failures.load();
    return out;
}

bool is_loopback(const std::string& host) {
    if (host == "localhost")
        return true;
    error_code ec;
    const auto a = net::ip::make_address(host, ec);
    return !ec && a.is_loopback();
}

}  // namespace quant::http
