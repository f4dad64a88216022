// The closed lists the system names things by: brokers, markets, schedules, and the statuses of
// a signal and of an order. The deployment validator, the JSON Schemas, the worker and the SQL
// reference tables (refdata.broker, market, schedule, signal_status, order_status, filled from
// quant.*_catalog()) all read these tables, so adding a broker is one row here.
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "quant/no_postgres.hpp"

namespace quant {

struct BrokerInfo {
    std::string_view name;
    bool trades_live;  // false: simulation only (a deployment on it must stay paper)
    std::string_view description;
};

struct MarketInfo {
    std::string_view name;
    // The daily close: pg_cron 1.4 schedules in UTC only, so the daily_close job of a market runs
    // at one fixed UTC time, the later of its two closes when the exchange has daylight saving.
    std::string_view close_time_utc;  // "HH:MM", outside daylight saving time
    std::string_view timezone;        // the exchange's IANA time zone
    std::string_view local_close;     // "HH:MM" local time
    std::string_view run_cron;        // the pg_cron schedule (UTC) of its daily_close run
    bool whole_shares;                // quantities are whole units (equities), else decimals (crypto)
    std::string_view description;
};

struct ScheduleInfo {
    std::string_view name;
    bool cron;  // run by pg_cron (quant.run_schedule); false: only on request (quant.run_deployment)
    // The stale-bar limit when risk_limits.max_bar_age_hours is not given.
    double default_max_bar_age_hours;
    std::string_view description;
    // The bar interval (quant/bar_interval.hpp) a strategy deployed on this schedule must have;
    // empty: any (manual runs).
    std::string_view bar_interval;
};

// The life cycle of a signal row or an order row: terminal states never change again.
struct StatusInfo {
    std::string_view name;
    bool terminal;
    std::string_view description;
};

std::span<const BrokerInfo> broker_catalog();
std::span<const MarketInfo> market_catalog();
std::span<const ScheduleInfo> schedule_catalog();
std::span<const StatusInfo> signal_status_catalog();
std::span<const StatusInfo> order_status_catalog();

// Exact (case-sensitive) look-ups; nullptr when unknown.
const BrokerInfo* find_broker(std::string_view name);
const MarketInfo* find_market(std::string_view name);
const ScheduleInfo* find_schedule(std::string_view name);

// A deployment's schedule must fit its strategy's bar interval (hourly needs 1h bars,
// daily_close 1d): Error{invalid_config} naming the field `schedule`, with the schedules that fit.
void check_schedule_fits_interval(std::string_view schedule, std::string_view interval);

// "PAPER, BYBIT, FUTU" and so on, for error hints.
std::string broker_names();
std::string market_names();
std::string schedule_names();

// Order states as the live loop books them (trade."order".status); the enum's order is the
// order of order_status_catalog().
enum class OrderState { new_order, sent, filled, rejected, cancelled, unknown };

std::string_view order_state_name(OrderState s);
// "NEW", "SENT", ... back to the enum; anything else is unknown (fail closed).
OrderState parse_order_state(std::string_view s);
// Terminal: the broker will not change the order any more.
bool is_terminal(OrderState s);

}  // namespace quant
