// quant-worker: the live loop's executor (issue 4). LISTENs on quant_signal, claims PENDING
// trade.signal rows (FOR UPDATE SKIP LOCKED), runs the risk checks of the core, records each
// order intent before sending it through the broker's TradeAdapter, and books the outcome.
//
// One explicit state machine around one wait point (style.md practice 11):
//
//   CONNECTING --ok--> RECONCILING --> DRAINING --(nothing claimable)--> WAITING
//       ^  |                                ^                               |
//       |  +--fail--> BACKOFF --------------|-------------------------------+ (NOTIFY or poll timeout)
//       +--------- connection or broker lost (from any state) -------------+
//
// WAITING is the only place the worker blocks: poll() on the listener's socket with the poll
// interval as timeout. SIGTERM/SIGINT set a flag; the current signal is finished, then exit 0.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "config.hpp"
#include "log.hpp"
#include "paper_adapter.hpp"
#include "pg.hpp"
#include "processor.hpp"
#include "quant/trade_adapter.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
    g_stop = 1;
    g_signal = sig;
}

void install_handlers() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR at once
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

enum class State { connecting, backoff, reconciling, draining, waiting };

const char* state_name(State s) {
    switch (s) {
        case State::connecting:
            return "connecting";
        case State::backoff:
            return "backoff";
        case State::reconciling:
            return "reconciling";
        case State::draining:
            return "draining";
        case State::waiting:
            return "waiting";
    }
    return "?";
}

// Drains the listener's notifications; false when the connection is gone.
bool drain_notifies(worker::Conn& listener, int& count) {
    if (PQconsumeInput(listener.raw()) == 0)
        return false;
    while (PGnotify* n = PQnotifies(listener.raw())) {
        ++count;
        worker::log_debug("notify", {{"channel", n->relname}, {"payload", n->extra ? n->extra : ""}});
        PQfreemem(n);
    }
    return PQstatus(listener.raw()) == CONNECTION_OK;
}

// Sleeps up to ms, returning early on a signal.
void sleep_ms(int ms) {
    if (g_stop)
        return;
    poll(nullptr, 0, ms);
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(
                "quant-worker: the live loop's executor (see worker/README.md).\n"
                "Environment: DB_URL (or PG*), QUANT_WORKER_POLL_MS (1000), QUANT_WORKER_ID,\n"
                "QUANT_WORKER_LOG_LEVEL (info), QUANT_WORKER_LEASE_S (60), QUANT_WORKER_MAX_ATTEMPTS (5),\n"
                "QUANT_PAPER_STARTING_CASH, QUANT_PAPER_SLIPPAGE_BPS, QUANT_PAPER_FEE_BPS.\n",
                stdout);
            return 0;
        }
        std::fprintf(stderr, "quant-worker: unknown argument %s (try --help)\n", a.c_str());
        return 2;
    }
    worker::Config cfg;
    try {
        cfg = worker::load_config();
    } catch (const std::exception& e) {
        worker::log_error("bad_config", {{"error", e.what()}});
        return 2;
    }
    worker::set_log_level(cfg.log_level);
    install_handlers();
    worker::log_info("start", {{"worker_id", cfg.worker_id},
                               {"poll_ms", cfg.poll_ms},
                               {"lease_s", cfg.lease_s},
                               {"crash_at", cfg.crash_at}});

    worker::Conn listener;
    worker::Conn work;
    worker::PaperGateway paper(cfg.conninfo, "quant-worker-broker");
    worker::Processor processor(cfg, work, paper);

    State state = State::connecting;
    int backoff_ms = 100;
    auto drop_all = [&](const char* why, const std::string& detail) {
        worker::log_warn("disconnected", {{"reason", why}, {"error", detail}});
        listener.close();
        work.close();
        paper.close();
        state = State::backoff;
    };

    while (!g_stop) {
        worker::log_debug("state", {{"state", state_name(state)}});
        try {
            switch (state) {
                case State::backoff:
                    sleep_ms(backoff_ms);
                    backoff_ms = std::min(backoff_ms * 2, cfg.reconnect_max_ms);
                    state = State::connecting;
                    break;
                case State::connecting:
                    // LISTEN first, then reconcile and catch up: nothing committed after this is missed
                    listener.open(cfg.conninfo, "quant-worker-listen");
                    listener.exec("LISTEN quant_signal");
                    work.open(cfg.conninfo, "quant-worker");
                    paper.ensure();
                    worker::log_info("connected", {{"worker_id", cfg.worker_id},
                                                   {"backend_pid", PQbackendPID(work.raw())}});
                    backoff_ms = 100;
                    state = State::reconciling;
                    break;
                case State::reconciling:
                    processor.reconcile_all();
                    state = State::draining;  // the catch-up scan
                    break;
                case State::draining: {
                    int notes = 0;
                    while (!g_stop && processor.process_next()) {
                        if (!drain_notifies(listener, notes))
                            throw worker::DbError("listener lost", "08006", true);
                    }
                    if (!drain_notifies(listener, notes))
                        throw worker::DbError("listener lost", "08006", true);
                    state = State::waiting;
                    break;
                }
                case State::waiting: {
                    struct pollfd pfd {
                        listener.socket(), POLLIN, 0
                    };
                    const int rc = poll(&pfd, 1, cfg.poll_ms);
                    if (rc < 0 && errno == EINTR)
                        break;  // a signal: the loop condition decides
                    int notes = 0;
                    if (rc > 0 && !drain_notifies(listener, notes)) {
                        throw worker::DbError("listener lost", "08006", true);
                    }
                    if (rc == 0 && PQstatus(listener.raw()) != CONNECTION_OK) {
                        throw worker::DbError("listener lost", "08006", true);
                    }
                    state = State::draining;  // on a NOTIFY, and on every poll timeout (the safety net)
                    break;
                }
            }
        } catch (const worker::DbError& e) {
            work.rollback_quietly();
            if (e.connection_lost() || !work.ok() || !listener.ok()) {
                drop_all("database", e.what());
            } else {
                worker::log_error(
                    "db_error",
                    {{"state", state_name(state)}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
                sleep_ms(cfg.poll_ms);
                state = State::reconciling;
            }
        } catch (const quant::BrokerError& e) {
            work.rollback_quietly();
            drop_all("broker", e.what());  // reconnect, then reconcile before trading again
        } catch (const std::exception& e) {
            work.rollback_quietly();
            worker::log_error("error", {{"state", state_name(state)}, {"error", e.what()}});
            sleep_ms(cfg.poll_ms);
            state = State::reconciling;
        }
    }
    worker::log_info("stop", {{"signal", static_cast<int>(g_signal)}, {"worker_id", cfg.worker_id}});
    return 0;
}
