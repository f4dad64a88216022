// quant-feed: the live feed's fetcher (issue 11 part 4; worker/README.md "The feed"). LISTENs on
// quant_feed, claims PENDING md.bar_fetch rows (FOR UPDATE SKIP LOCKED, with a lease), fetches each
// product's closed bars through the source's TradeAdapter, and stores them with the fetch's
// record in one transaction (md.store_fetch), which evaluates the deployments waiting for them.
//
//   CONNECTING --ok--> DRAINING --(nothing claimable: quant.feed_deadline())--> WAITING
//       ^  \--fail--> BACKOFF                ^                                  | NOTIFY or poll timeout
//       +-------- database lost -------------+----------------------------------+
//
// SIGTERM/SIGINT: the current fetch is finished, then exit 0.
#include <poll.h>

#include <csignal>

#include "config.hpp"
#include "feed.hpp"
#include "quant/pq/connection.hpp"
#include "quant/pq/log.hpp"

namespace {

namespace pq = quant::pq;
namespace worker = quant::worker;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

void install_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

void sleep_ms(long long ms) {
    if (g_stop == 0)
        poll(nullptr, 0, static_cast<int>(ms));
}

enum class State { connecting, backoff, draining, waiting };

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(
                "quant-feed: fetches the bars of the live feed (see worker/README.md \"The feed\").\n"
                "Environment: DB_URL (or PG*), QUANT_FEED_ID, QUANT_FEED_POLL_MS (5000), QUANT_FEED_LEASE_S "
                "(120),\n"
                "QUANT_FEED_MAX_ATTEMPTS (5), QUANT_WORKER_LOG_LEVEL (info), QUANT_WORKER_ROLE "
                "(quant_worker),\n"
                "QUANT_WORKER_STATEMENT_TIMEOUT_MS, QUANT_WORKER_LOCK_TIMEOUT_MS, QUANT_BYBIT_BASE_URL,\n"
                "QUANT_BYBIT_TIMEOUT_MS, QUANT_BYBIT_CONNECT_TIMEOUT_MS.\n",
                stdout);
            return 0;
        }
        std::fprintf(stderr, "quant-feed: unknown argument %s (try --help)\n", a.c_str());
        return 2;
    }
    worker::Config cfg;
    worker::FeedConfig fcfg;
    try {
        cfg = worker::load_config();
        fcfg = worker::load_feed_config();
    } catch (const std::exception& e) {
        pq::log_error("bad_config", {{"error", e.what()}});
        return 2;
    }
    pq::set_log_level(cfg.log_level);
    install_handlers();
    pq::log_info("start", {{"feed_id", fcfg.feed_id},
                           {"poll_ms", fcfg.poll_ms},
                           {"lease_s", fcfg.lease_s},
                           {"crash_at", fcfg.crash_at}});

    pq::Connection listener;
    pq::Connection work;
    worker::Feeder feeder(cfg, fcfg, work);
    State state = State::connecting;
    pq::Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(cfg.reconnect_max_ms));

    while (g_stop == 0) {
        try {
            switch (state) {
                case State::backoff:
                    sleep_ms(backoff.next().count());
                    state = State::connecting;
                    break;
                case State::connecting:
                    listener.open(worker::connect_options(cfg, "quant-feed-listen"));
                    listener.listen("quant_feed");
                    work.open(worker::connect_options(cfg, "quant-feed"));
                    feeder.prepare();
                    pq::log_info("connected", {{"feed_id", fcfg.feed_id}, {"role", work.role()}});
                    backoff.reset();
                    state = State::draining;
                    break;
                case State::draining:
                    while (g_stop == 0 && feeder.fetch_next()) {
                        for (const auto& n : listener.notifications())
                            pq::log_debug("notify", {{"channel", n.channel}, {"payload", n.payload}});
                    }
                    // runs past their deadline: their waiting deployments are evaluated anyway
                    work.exec_prepared("feed_deadline", "SELECT quant.feed_deadline()");
                    state = State::waiting;
                    break;
                case State::waiting: {
                    const pq::Wait w = listener.wait_readable(std::chrono::milliseconds(fcfg.poll_ms));
                    if (w == pq::Wait::interrupted)
                        break;
                    if (w == pq::Wait::readable)
                        (void)listener.notifications();
                    else if (!listener.ok())
                        throw pq::SqlError("08006", "listener lost", true);
                    state = State::draining;
                    break;
                }
            }
        } catch (const pq::SqlError& e) {
            work.rollback_quietly();
            if (e.connection_lost() || !work.ok() || !listener.ok()) {
                pq::log_warn("disconnected", {{"error", e.what()}});
                listener.close();
                work.close();
                state = State::backoff;
            } else {
                pq::log_error("db_error", {{"sqlstate", e.sqlstate}, {"error", e.message}});
                sleep_ms(fcfg.poll_ms);
                state = State::draining;
            }
        } catch (const std::exception& e) {
            work.rollback_quietly();
            pq::log_error("error", {{"error", e.what()}});
            sleep_ms(fcfg.poll_ms);
            state = State::draining;
        }
    }
    pq::log_info("stop", {{"feed_id", fcfg.feed_id}});
    return 0;
}
