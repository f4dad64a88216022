#include "paper_adapter.hpp"

#include <algorithm>
#include <cmath>

#include "quant/bar_feed.hpp"
#include "quant/pq/log.hpp"
#include "quant/pq/pipeline.hpp"

namespace quant::worker {
namespace {

constexpr const char* order_columns =
    "client_order_id, order_id, symbol, side, qty, filled_qty, fill_price, fee, status, reason";

// NULL is 0; a value that is not a number is NaN (the checks then fail closed)
double number(const pq::Result& r, int row, const char* col) {
    if (r.is_null(row, r.column(col)))
        return 0.0;
    return pq::parse_double(r.view(row, r.column(col))).value_or(std::nan(""));
}

quant::OrderResult order_from(const pq::Result& r, int row) {
    quant::OrderResult o;
    o.client_order_id = r.get(row, "client_order_id");
    o.broker_order_id = r.get(row, "order_id");
    o.symbol = r.get(row, "symbol");
    o.side = r.get(row, "side") == "SELL" ? quant::Side::sell : quant::Side::buy;
    o.qty = number(r, row, "qty");
    o.filled_qty = number(r, row, "filled_qty");
    o.avg_price = number(r, row, "fill_price");
    o.fee = number(r, row, "fee");
    o.state = quant::parse_order_state(r.get(row, "status"));
    o.message = r.get(row, "reason");
    return o;
}

constexpr const char* kOpenAccountSql = "SELECT account FROM paper.open_account($1, $2, $3, $4, $5)";
constexpr const char* kGetAccountSql =
    "SELECT account, cash, starting_cash FROM paper.get_account($1) WHERE account IS NOT NULL";
constexpr const char* kGetPositionsSql = "SELECT symbol, qty, avg_price FROM paper.get_positions($1)";

pq::Param opt_number(const std::optional<double>& v) {
    if (!v)
        return std::nullopt;
    return format_number(*v);
}

}  // namespace

void PaperGateway::ensure() {
    if (conn_.ok())
        return;
    try {
        conn_.open(options_);
        pq::log_info("broker_connected", {{"broker", "PAPER"}, {"role", conn_.role()}});
    } catch (const pq::SqlError& e) {
        throw quant::BrokerError(std::string("paper broker not reachable: ") + e.what());
    }
}

pq::Result PaperGateway::call(const std::string& name, const std::string& sql, const pq::Params& params) {
    ensure();
    try {
        return conn_.exec_prepared(name, sql, params);
    } catch (const pq::SqlError& e) {
        if (e.connection_lost())
            conn_.close();
        else
            conn_.rollback_quietly();
        throw quant::BrokerError(std::string("paper broker: ") + e.what());
    }
}

pq::Pipeline::Outcome PaperGateway::pipeline(const std::vector<Step>& steps) {
    ensure();
    pq::Pipeline::Outcome o;
    try {
        pq::Pipeline p(conn_);
        for (const Step& s : steps)
            if (s.name == nullptr)
                p.add(s.sql);
            else
                p.add_prepared(s.name, s.sql, s.params);
        o = p.run();  // the pipeline rolls back what an error left open
    } catch (const pq::SqlError& e) {
        conn_.close();
        throw quant::BrokerError(std::string("paper broker: ") + e.what());
    }
    if (o.connection_lost())
        conn_.close();
    return o;
}

void PaperAdapter::connect() {
    // One round trip: the account opened (committed on its own), then the account and the
    // positions read, kept for the first get_account_info and get_positions after this (the
    // worker reads both right after connecting; any other call drops them). A failure of
    // the reads is left to those calls to report, as before.
    prefetched_account_.reset();
    prefetched_positions_.reset();
    const pq::Pipeline::Outcome o =
        gw_.pipeline({{nullptr, "BEGIN", {}},
                      {"paper_open_account",
                       kOpenAccountSql,
                       {account_, user_id_, opt_number(cfg_.paper_starting_cash),
                        opt_number(cfg_.paper_slippage_bps), opt_number(cfg_.paper_fee_bps)}},
                      {nullptr, "COMMIT", {}},
                      {"paper_get_account", kGetAccountSql, {account_}},
                      {"paper_get_positions", kGetPositionsSql, {account_}}});
    if (o.error && o.failed_step <= 2)
        throw quant::BrokerError(std::string("paper broker: ") + o.error->what());
    connected_ = true;
    if (!o.error) {
        prefetched_account_ = account_from(o.results[3]);
        prefetched_positions_ = positions_from(o.results[4]);
    }
}

void PaperAdapter::drop_prefetched() {
    prefetched_account_.reset();
    prefetched_positions_.reset();
}

quant::AccountInfo PaperAdapter::account_from(const pq::Result& r) const {
    if (r.rows() != 1)
        throw quant::BrokerError("paper broker: account " + account_ + " does not exist");
    quant::AccountInfo a;
    a.account = r.get(0, "account");
    a.cash = number(r, 0, "cash");
    a.starting_cash = number(r, 0, "starting_cash");
    return a;
}

std::vector<quant::PositionInfo> PaperAdapter::positions_from(const pq::Result& r) {
    std::vector<quant::PositionInfo> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back({r.get(i, "symbol"), number(r, i, "qty"), number(r, i, "avg_price")});
    }
    return out;
}

void PaperAdapter::require_connected() const {
    if (!is_connected())
        throw quant::BrokerError("paper broker: not connected");
}

quant::OrderResult PaperAdapter::place_order(std::string_view symbol, double qty, quant::Side side,
                                             std::string_view client_order_id, std::string_view order_type,
                                             std::optional<double> price) {
    require_connected();
    drop_prefetched();
    const pq::Result r = gw_.call(
        "paper_place_order",
        std::string("SELECT ") + order_columns +
            " FROM paper.place_order($1, $2, $3, $4, $5::numeric, $6, $7::numeric)",
        {account_, std::string(client_order_id), std::string(symbol), std::string(quant::side_name(side)),
         format_number(qty), std::string(order_type), opt_number(price)});
    if (r.rows() != 1)
        throw quant::BrokerError("paper broker: place_order returned no order");
    quant::OrderResult o = order_from(r, 0);
    // validate the broker's answer before anyone trusts it
    if (o.client_order_id != client_order_id)
        throw quant::BrokerError("paper broker: answer for another client id");
    return o;
}

std::vector<quant::PositionInfo> PaperAdapter::get_positions() {
    require_connected();
    if (prefetched_positions_) {
        std::vector<quant::PositionInfo> out = std::move(*prefetched_positions_);
        prefetched_positions_.reset();
        return out;
    }
    return positions_from(gw_.call("paper_get_positions", kGetPositionsSql, {account_}));
}

std::vector<quant::OrderResult> PaperAdapter::get_orders() {
    require_connected();
    drop_prefetched();
    const pq::Result r =
        gw_.call("paper_get_orders", std::string("SELECT ") + order_columns + " FROM paper.get_orders($1)",
                 {account_});
    std::vector<quant::OrderResult> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(order_from(r, i));
    return out;
}

quant::AccountInfo PaperAdapter::get_account_info() {
    require_connected();
    if (prefetched_account_) {
        quant::AccountInfo a = std::move(*prefetched_account_);
        prefetched_account_.reset();
        return a;
    }
    return account_from(gw_.call("paper_get_account", kGetAccountSql, {account_}));
}

std::optional<quant::OrderResult> PaperAdapter::order_by_client_id(std::string_view client_order_id) {
    require_connected();
    drop_prefetched();
    const pq::Result r = gw_.call(
        "paper_get_order",
        std::string("SELECT ") + order_columns + " FROM paper.get_order($1) WHERE order_id IS NOT NULL",
        {std::string(client_order_id)});
    if (r.rows() == 0)
        return std::nullopt;
    return order_from(r, 0);
}

std::vector<quant::BarData> PaperAdapter::fetch_bars(std::string_view symbol, std::string_view interval,
                                                     std::int64_t start_us, std::int64_t now_us) {
    // the paper broker's market data is md.bar itself: the closed bars stored for the symbol
    const auto step = quant::bar_interval_us(interval);
    if (!step)
        throw quant::BrokerError("paper broker: unknown bar interval \"" + std::string(interval) +
                                 "\" (valid: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w)");
    const pq::Result r =
        gw_.call("paper_fetch_bars",
                 "SELECT (extract(epoch FROM ts) * 1000000)::bigint AS ts_us, open, high, low, close, volume "
                 "FROM md.bar "
                 "WHERE ticker = $1 AND \"interval\" = $2 AND ts >= to_timestamp($3::float8 / 1e6) "
                 "AND ts <= to_timestamp(($4::bigint - $5::bigint)::float8 / 1e6) ORDER BY ts",
                 {std::string(symbol), std::string(interval), std::to_string(start_us),
                  std::to_string(now_us), std::to_string(*step)});
    std::vector<quant::BarData> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        quant::BarData b;
        b.ts_us = r.get_int(i, "ts_us").value_or(0);
        b.open = number(r, i, "open");
        b.high = number(r, i, "high");
        b.low = number(r, i, "low");
        b.close = number(r, i, "close");
        b.volume = number(r, i, "volume");
        out.push_back(b);
    }
    return out;
}

}  // namespace quant::worker
