#include "quant/catalog.hpp"

#include <array>

#include "quant/bar_interval.hpp"
#include "quant/error.hpp"
#include "table_names.hpp"

namespace quant {

namespace {

constexpr std::array<BrokerInfo, 3> brokers{{
    {.name = "PAPER",
     .trades_live = false,
     .description = "the embedded paper broker (simulated fills in the database)"},
    {.name = "BYBIT", .trades_live = true, .description = "Bybit (crypto)"},
    {.name = "FUTU", .trades_live = true, .description = "Futu OpenD (US and HK equities)"},
}};

// Exchange holidays are not modelled: on a holiday the run finds no new bar, and the duplicate
// guard (one signal per deployment and bar) makes it write nothing.
constexpr std::array<MarketInfo, 3> markets{{
    {.name = "US",
     .close_time_utc = "21:00",
     .timezone = "America/New_York",
     .local_close = "16:00",
     .run_cron = "5 21 * * 1-5",
     .whole_shares = true,
     .description = "US equities (NYSE, Nasdaq): close 16:00 New York = 21:00 UTC (EST), 20:00 UTC in summer "
                    "(EDT); the run at 21:05 UTC is after the close all year"},
    {.name = "HK",
     .close_time_utc = "08:00",
     .timezone = "Asia/Hong_Kong",
     .local_close = "16:00",
     .run_cron = "5 8 * * 1-5",
     .whole_shares = true,
     .description = "Hong Kong equities (HKEX): close 16:00 Hong Kong = 08:00 UTC, no daylight saving time"},
    {.name = "CRYPTO",
     .close_time_utc = "00:00",
     .timezone = "UTC",
     .local_close = "00:00",
     .run_cron = "5 0 * * *",
     .whole_shares = false,
     .description = "Crypto (Bybit): trades around the clock; the daily bar closes at 00:00 UTC, every day"},
}};

// 96 hours for a daily bar: Friday's bar is still fresh at Monday's run.
constexpr std::array<ScheduleInfo, 3> schedules{{
    {.name = "daily_close",
     .cron = true,
     .default_max_bar_age_hours = 96.0,
     .description = "after each market's daily close (refdata.market.run_cron)",
     .bar_interval = "1d"},
    {.name = "hourly",
     .cron = true,
     .default_max_bar_age_hours = 2.0,
     .description = "at minute 0 of every hour",
     .bar_interval = "1h"},
    {.name = "manual",
     .cron = false,
     .default_max_bar_age_hours = 96.0,
     .description = "only when asked (quant.run_deployment)",
     .bar_interval = ""},
}};

constexpr std::array<StatusInfo, 4> signal_statuses{{
    {.name = "PENDING",
     .terminal = false,
     .description = "written by the schedule or the stop loss, not claimed yet"},
    {.name = "PROCESSING",
     .terminal = false,
     .description = "claimed by a quant-worker (claimed_by, claimed_at)"},
    {.name = "DONE", .terminal = true, .description = "acted on: its orders placed, or a HOLD"},
    {.name = "REJECTED", .terminal = true, .description = "refused by a risk check or given up on"},
}};

// Indexed by OrderState.
constexpr std::array<StatusInfo, 6> order_statuses{{
    {.name = "NEW", .terminal = false, .description = "the intent, committed before the send"},
    {.name = "SENT", .terminal = false, .description = "acknowledged by the broker, not final"},
    {.name = "FILLED", .terminal = true, .description = "filled (trade.fill, trade.position booked)"},
    {.name = "REJECTED", .terminal = true, .description = "refused by the broker"},
    {.name = "CANCELLED", .terminal = true, .description = "cancelled at the broker"},
    {.name = "UNKNOWN",
     .terminal = false,
     .description = "the broker does not know an order that was sent: fail closed, a person looks"},
}};

}  // namespace

std::span<const BrokerInfo> broker_catalog() {
    return brokers;
}
std::span<const MarketInfo> market_catalog() {
    return markets;
}
std::span<const ScheduleInfo> schedule_catalog() {
    return schedules;
}
std::span<const StatusInfo> signal_status_catalog() {
    return signal_statuses;
}
std::span<const StatusInfo> order_status_catalog() {
    return order_statuses;
}

const BrokerInfo* find_broker(std::string_view name) {
    return names::find(brokers, name);
}
const MarketInfo* find_market(std::string_view name) {
    return names::find(markets, name);
}
const ScheduleInfo* find_schedule(std::string_view name) {
    return names::find(schedules, name);
}

void check_schedule_fits_interval(std::string_view schedule, std::string_view interval) {
    const BarIntervalInfo& iv = parse_bar_interval(interval, "interval", ErrorCode::invalid_config);
    const ScheduleInfo* s = find_schedule(schedule);
    if (s == nullptr) {
        throw Error(ErrorCode::invalid_config, "schedule",
                    "schedule: unknown schedule \"" + std::string(schedule) + "\"",
                    "valid schedules: " + schedule_names());
    }
    if (s->bar_interval.empty() || s->bar_interval == iv.name)
        return;
    std::string fits;
    for (const auto& x : schedules) {
        if (x.bar_interval.empty() || x.bar_interval == iv.name)
            fits += (fits.empty() ? "" : ", ") + std::string(x.name);
    }
    throw Error(ErrorCode::invalid_config, "schedule",
                "schedule: \"" + std::string(schedule) + "\" runs on " + std::string(s->bar_interval) +
                    " bars but the strategy's interval is " + std::string(iv.name),
                "schedules that fit " + std::string(iv.name) + " bars: " + fits);
}

std::string broker_names() {
    return names::join(brokers, &BrokerInfo::name);
}
std::string market_names() {
    return names::join(markets, &MarketInfo::name);
}
std::string schedule_names() {
    return names::join(schedules, &ScheduleInfo::name);
}

std::string_view order_state_name(OrderState s) {
    return order_statuses.at(static_cast<std::size_t>(s)).name;
}

OrderState parse_order_state(std::string_view s) {
    for (std::size_t i = 0; i < order_statuses.size(); ++i) {
        if (order_statuses[i].name == s)
            return static_cast<OrderState>(i);
    }
    return OrderState::unknown;
}

bool is_terminal(OrderState s) {
    return order_statuses.at(static_cast<std::size_t>(s)).terminal;
}

}  // namespace quant
