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
// WAITING is the only place the worker blocks: a poll on the listener's socket with the poll
// interval as timeout. SIGTERM/SIGINT set a flag; the current signal is finished, then exit 0.
#include <poll.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>

#include "config.hpp"
#include "paper_adapter.hpp"
#include "processor.hpp"
#include "quant/error.hpp"
#include "quant/json.hpp"
#include "quant/pq/connection.hpp"
#include "quant/pq/log.hpp"
#include "quant/trade_adapter.hpp"
#include "webhook.hpp"

namespace {

namespace pq = quant::pq;
namespace worker = quant::worker;

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
    g_stop = 1;
    g_signal = sig;
}

void install_handlers() {
    struct sigaction sa {};
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

// Reads the listener's notifications (only wake-ups: the table is the truth); throws
// pq::SqlError when the listener is gone.
// Alerts seen on quant_alert, by kind (every kind: the worker's own and the database's, such as
// stale_data), for /metrics.
std::map<std::string, long> g_alerts_seen;

// Reads the notifications that came; true when one was a signal's (quant_signal).
bool drain_notifies(pq::Connection& listener, worker::Webhook* webhook) {
    bool signal = false;
    for (const pq::Notification& n : listener.notifications()) {
        signal = signal || n.channel == "quant_signal";
        pq::log_debug("notify", {{"channel", n.channel}, {"payload", n.payload}});
        if (n.channel == "quant_alert") {
            std::string kind = "unparsed";
            try {
                const quant::Json j = quant::parse_json(n.payload);
                if (j.is_object() && j.contains("kind") && j["kind"].is_string())
                    kind = j["kind"].get<std::string>();
            } catch (const quant::Error&) {
            }
            ++g_alerts_seen[kind];
        }
        if (webhook != nullptr && n.channel == "quant_alert")
            webhook->enqueue(n.payload);  // the alert webhook (webhook.hpp)
    }
    return signal;
}

// The worker's counters as a Prometheus textfile (written whole, then renamed: never half read).
void write_metrics(const worker::Config& cfg, const worker::Processor& p, const worker::Webhook* webhook) {
    if (cfg.metrics_file.empty())
        return;
    std::string text = p.metrics_text();
    text +=
        "# HELP quant_worker_alerts_seen_total alerts seen on quant_alert by kind (any raiser)\n"
        "# TYPE quant_worker_alerts_seen_total counter\n";
    for (const auto& [kind, n] : g_alerts_seen)
        text += "quant_worker_alerts_seen_total{kind=\"" + kind + "\"} " + std::to_string(n) + "\n";
    if (webhook != nullptr) {
        text +=
            "# HELP quant_worker_webhook_posts_total alerts POSTed to the webhook (sent, or dropped after "
            "the retries)\n"
            "# TYPE quant_worker_webhook_posts_total counter\n"
            "quant_worker_webhook_posts_total{result=\"sent\"} " +
            std::to_string(webhook->sent()) +
            "\n"
            "quant_worker_webhook_posts_total{result=\"failed\"} " +
            std::to_string(webhook->failed()) + "\n";
    }
    const std::string tmp = cfg.metrics_file + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        if (std::fclose(f) == 0 && ok)
            std::rename(tmp.c_str(), cfg.metrics_file.c_str());
    }
}

// Sleeps up to ms, returning early on a signal.
void sleep_ms(long long ms) {
    if (g_stop != 0)
        return;
    poll(nullptr, 0, static_cast<int>(ms));
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
                "QUANT_WORKER_STATEMENT_TIMEOUT_MS (30000), QUANT_WORKER_LOCK_TIMEOUT_MS (5000),\n"
                "QUANT_WORKER_ROLE (quant_worker), QUANT_PAPER_STARTING_CASH, QUANT_PAPER_SLIPPAGE_BPS,\n"
                "QUANT_PAPER_FEE_BPS, QUANT_ALERT_WEBHOOK_URL, QUANT_ALERT_WEBHOOK_SECRET_FILE,\n"
                "QUANT_ALERT_WEBHOOK_RETRIES (5), QUANT_ALERT_WEBHOOK_BACKOFF_MS (500),\n"
                "QUANT_ALERT_WEBHOOK_TIMEOUT_MS (5000), QUANT_WORKER_METRICS_FILE, QUANT_WORKER_SWEEP_MS "
                "(5000),\n"
                "QUANT_ALERT_RECONNECT_STORM_COUNT (5), QUANT_ALERT_RECONNECT_STORM_WINDOW_S (60).\n",
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
        pq::log_error("bad_config", {{"error", e.what()}});
        return 2;
    }
    pq::set_log_level(cfg.log_level);
    install_handlers();
    pq::log_info("start", {{"worker_id", cfg.worker_id},
                           {"poll_ms", cfg.poll_ms},
                           {"lease_s", cfg.lease_s},
                           {"statement_timeout_ms", cfg.statement_timeout_ms},
                           {"lock_timeout_ms", cfg.lock_timeout_ms},
                           {"crash_at", cfg.crash_at}});

    pq::Connection listener;
    pq::Connection work;
    worker::PaperGateway paper(worker::connect_options(cfg, "quant-worker-broker"));
    worker::Processor processor(cfg, work, paper);
    std::unique_ptr<worker::Webhook> webhook;
    if (!cfg.alert_webhook_url.empty()) {
        webhook = std::make_unique<worker::Webhook>(worker::WebhookSettings{
            cfg.alert_webhook_url, cfg.alert_webhook_secret, cfg.alert_webhook_retries,
            cfg.alert_webhook_backoff_ms, cfg.alert_webhook_timeout_ms});
        if (cfg.alert_webhook_secret.empty())
            pq::log_warn("webhook_unsigned", {{"note", "QUANT_ALERT_WEBHOOK_SECRET_FILE is not set"}});
    }

    State state = State::connecting;
    pq::Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(cfg.reconnect_max_ms));
    // the reconnect storm (issue 15): the times of recent disconnects; at reconnect_storm_count
    // within the window an alert goes out once the database is back (it cannot before)
    std::deque<std::chrono::steady_clock::time_point> drops;
    std::string storm_error;
    int storm_pending = 0;
    auto last_sweep = std::chrono::steady_clock::now();
    auto drop_all = [&](const char* why, const std::string& detail) {
        pq::log_warn("disconnected", {{"reason", why}, {"error", detail}});
        const auto now = std::chrono::steady_clock::now();
        drops.push_back(now);
        while (!drops.empty() && now - drops.front() > std::chrono::seconds(cfg.reconnect_storm_window_s))
            drops.pop_front();
        if (static_cast<int>(drops.size()) >= cfg.reconnect_storm_count) {
            storm_pending = static_cast<int>(drops.size());
            storm_error = std::string(why) + ": " + detail;
            drops.clear();  // one alert per storm: the count starts again
        }
        listener.close();
        work.close();
        paper.close();
        state = State::backoff;
    };

    while (g_stop == 0) {
        pq::log_debug("state", {{"state", state_name(state)}});
        try {
            switch (state) {
                case State::backoff:
                    sleep_ms(backoff.next().count());
                    state = State::connecting;
                    break;
                case State::connecting:
                    // LISTEN first, then reconcile and catch up: nothing committed after this is missed
                    listener.open(worker::connect_options(cfg, "quant-worker-listen"));
                    listener.listen("quant_signal");
                    listener.listen("quant_alert");  // counted for /metrics, forwarded to the webhook
                    if (webhook)
                        pq::log_info("alerts_listening", {{"channel", "quant_alert"}, {"webhook", true}});
                    work.open(worker::connect_options(cfg, "quant-worker"));
                    paper.ensure();
                    pq::log_info("connected", {{"worker_id", cfg.worker_id},
                                               {"backend_pid", work.backend_pid()},
                                               {"role", work.role()},
                                               {"role_note", work.role_note()}});
                    if (!cfg.role.empty() && work.role() != cfg.role)
                        pq::log_warn("role_not_assumed", {{"role", cfg.role}, {"note", work.role_note()}});
                    backoff.reset();
                    if (storm_pending > 0) {
                        processor.reconnect_storm(storm_pending, cfg.reconnect_storm_window_s, storm_error);
                        storm_pending = 0;
                    }
                    state = State::reconciling;
                    break;
                case State::reconciling:
                    processor.reconcile_all();
                    state = State::draining;  // the catch-up scan
                    break;
                case State::draining: {
                    // a signal's NOTIFY read after the last claim found nothing is a signal
                    // committed since: claim again (it would otherwise wait for the next poll)
                    bool again = true;
                    while (g_stop == 0 && again) {
                        while (g_stop == 0 && processor.process_next())
                            drain_notifies(listener, webhook.get());
                        again = drain_notifies(listener, webhook.get());
                    }
                    write_metrics(cfg, processor, webhook.get());
                    state = State::waiting;
                    break;
                }
                case State::waiting: {
                    const pq::Wait w = listener.wait_readable(std::chrono::milliseconds(cfg.poll_ms));
                    if (w == pq::Wait::interrupted)
                        break;  // a signal: the loop condition decides
                    if (w == pq::Wait::readable)
                        drain_notifies(listener, webhook.get());
                    else if (!listener.ok())
                        throw pq::SqlError("08006", "listener lost", true);
                    if (std::chrono::steady_clock::now() - last_sweep >=
                        std::chrono::milliseconds(cfg.sweep_ms)) {
                        last_sweep = std::chrono::steady_clock::now();
                        processor.sweep_open_orders();  // orders past their deadline (open_orders.cpp)
                        processor.watch_breakers();     // the breakers on the latest prices
                        drain_notifies(listener, webhook.get());
                        write_metrics(cfg, processor, webhook.get());
                    }
                    state = State::draining;  // on a NOTIFY, and on every poll timeout (the safety net)
                    break;
                }
            }
        } catch (const pq::SqlError& e) {
            work.rollback_quietly();
            if (e.connection_lost() || !work.ok() || !listener.ok()) {
                drop_all("database", e.what());
            } else {
                pq::log_error("db_error",
                              {{"state", state_name(state)}, {"sqlstate", e.sqlstate}, {"error", e.message}});
                sleep_ms(cfg.poll_ms);
                state = State::reconciling;
            }
        } catch (const quant::BrokerError& e) {
            work.rollback_quietly();
            drop_all("broker", e.what());  // reconnect, then reconcile before trading again
        } catch (const std::exception& e) {
            work.rollback_quietly();
            pq::log_error("error", {{"state", state_name(state)}, {"error", e.what()}});
            sleep_ms(cfg.poll_ms);
            state = State::reconciling;
        }
    }
    pq::log_info("stop", {{"signal", static_cast<int>(g_signal)}, {"worker_id", cfg.worker_id}});
    return 0;
}
