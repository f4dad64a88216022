#include <gtest/gtest.h>

#include <cmath>

#include "quant/pq/connection.hpp"
#include "quant/pq/log.hpp"
#include "quant/pq/result.hpp"

namespace pq = quant::pq;
using std::chrono::milliseconds;

TEST(PqError, LostConnectionRule) {
    EXPECT_TRUE(pq::SqlError("08006", "x").connection_lost());
    EXPECT_TRUE(pq::SqlError("08P01", "x").connection_lost());
    EXPECT_TRUE(pq::SqlError("57P01", "admin shutdown").connection_lost());
    EXPECT_TRUE(pq::SqlError("57P02", "crash shutdown").connection_lost());
    EXPECT_TRUE(pq::SqlError("57P03", "cannot connect now").connection_lost());
    EXPECT_TRUE(pq::SqlError("25006", "cannot execute INSERT in a read-only transaction").connection_lost());
    EXPECT_FALSE(pq::SqlError("25P02", "in failed transaction").connection_lost());
    EXPECT_FALSE(pq::SqlError("57014", "statement timeout").connection_lost());
    EXPECT_FALSE(pq::SqlError("23505", "duplicate").connection_lost());
    EXPECT_FALSE(pq::SqlError("", "no state").connection_lost());
    EXPECT_TRUE(pq::SqlError("", "status bad", true).connection_lost());
    EXPECT_TRUE(pq::SqlError("23505", "x", true).connection_lost());
}

TEST(PqError, WhatIsTheMessage) {
    const pq::SqlError e("22023", "qty: must be positive");
    EXPECT_STREQ(e.what(), "qty: must be positive");
}

TEST(PqError, ErrorOfNothingIsBroken) {
    const pq::SqlError e = pq::error_of(nullptr, nullptr);
    EXPECT_TRUE(e.connection_lost());
    EXPECT_FALSE(e.message.empty());
}

TEST(PqError, StaleStatements) {
    EXPECT_TRUE(pq::stale_statement(pq::SqlError("26000", "x")));
    EXPECT_TRUE(pq::stale_statement(pq::SqlError("0A000", "cached plan must not change result type")));
    EXPECT_FALSE(pq::stale_statement(pq::SqlError("42883", "x")));
}

TEST(PqResult, ParseDouble) {
    EXPECT_EQ(pq::parse_double("1.5"), 1.5);
    EXPECT_EQ(pq::parse_double("-0.25"), -0.25);
    EXPECT_TRUE(std::isnan(*pq::parse_double("NaN")));
    EXPECT_TRUE(std::isinf(*pq::parse_double("Infinity")));
    EXPECT_TRUE(std::isinf(*pq::parse_double("-Infinity")));
    EXPECT_TRUE(std::isinf(*pq::parse_double("1e400")));  // out of range: not finite, never a wrap
    EXPECT_FALSE(pq::parse_double(""));
    EXPECT_FALSE(pq::parse_double("12abc"));
    EXPECT_TRUE(std::isinf(*pq::parse_double("1" + std::string(400, '0'))));  // numeric 1e400 as text
}

TEST(PqResult, ParseInt) {
    EXPECT_EQ(pq::parse_int("42"), 42);
    EXPECT_EQ(pq::parse_int("-7"), -7);
    EXPECT_FALSE(pq::parse_int(""));
    EXPECT_FALSE(pq::parse_int("4.2"));
    EXPECT_FALSE(pq::parse_int("99999999999999999999999"));
}

TEST(PqResult, EmptyResult) {
    const pq::Result r;
    EXPECT_FALSE(r);
    EXPECT_EQ(r.rows(), 0);
    EXPECT_EQ(r.columns(), 0);
    EXPECT_FALSE(r.opt(0, 0));
    EXPECT_THROW(r.get(0, 0), pq::SqlError);
    EXPECT_THROW(r.column("x"), pq::SqlError);
}

TEST(PqBackoff, DoublesUpToTheCap) {
    pq::Backoff b(milliseconds(100), milliseconds(500));
    EXPECT_EQ(b.next(), milliseconds(100));
    EXPECT_EQ(b.next(), milliseconds(200));
    EXPECT_EQ(b.next(), milliseconds(400));
    EXPECT_EQ(b.next(), milliseconds(500));
    EXPECT_EQ(b.next(), milliseconds(500));
    b.reset();
    EXPECT_EQ(b.next(), milliseconds(100));
}

TEST(PqConnection, ClosedConnectionThrowsLost) {
    pq::Connection c;
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.socket(), -1);
    try {
        c.exec("SELECT 1");
        FAIL() << "no error";
    } catch (const pq::SqlError& e) {
        EXPECT_TRUE(e.connection_lost());
    }
    EXPECT_THROW(c.notifications(), pq::SqlError);
}

TEST(PqConnection, UnreachableServerGivesTheReason) {
    pq::Connection c;
    pq::ConnectOptions o;
    o.conninfo = "host=/nonexistent-quant-socket-dir port=1 dbname=x";
    o.connect_timeout_s = 1;
    try {
        c.open(o);
        FAIL() << "connected";
    } catch (const pq::SqlError& e) {
        EXPECT_TRUE(e.connection_lost());
        EXPECT_EQ(e.sqlstate, "08001");
        EXPECT_NE(e.message.find("connection failed"), std::string::npos) << e.message;
        EXPECT_NE(e.message.find("nonexistent-quant-socket-dir"), std::string::npos) << e.message;
    }
    EXPECT_FALSE(c.ok());
}

TEST(PqLog, Line) {
    const std::string line = pq::log_line("2026-01-02T03:04:05.000006Z", pq::Level::warn, "disconnected",
                                          {{"reason", "database"}, {"event", "spoofed"}, {"ms", 1.5}});
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["ts"], "2026-01-02T03:04:05.000006Z");
    EXPECT_EQ(j["level"], "warn");
    EXPECT_EQ(j["event"], "disconnected");  // a field does not replace the line's own
    EXPECT_EQ(j["reason"], "database");
    EXPECT_EQ(j["ms"], 1.5);
    EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(PqLog, InvalidUtf8IsReplaced) {
    const std::string line = pq::log_line("t", pq::Level::info, "request", {{"path", std::string("/a\xff")}});
    EXPECT_TRUE(nlohmann::json::accept(line));
}

TEST(PqLog, Levels) {
    EXPECT_EQ(pq::parse_log_level("debug"), pq::Level::debug);
    EXPECT_EQ(pq::parse_log_level("warning"), pq::Level::warn);
    EXPECT_EQ(pq::parse_log_level("error"), pq::Level::error);
    EXPECT_FALSE(pq::parse_log_level("loud"));
    pq::set_log_level(pq::Level::warn);
    EXPECT_FALSE(pq::log_enabled(pq::Level::info));
    EXPECT_TRUE(pq::log_enabled(pq::Level::error));
    pq::set_log_level(pq::Level::info);
}

TEST(PqLog, TimeIsUtcIso) {
    const std::string t = pq::log_time_now();
    ASSERT_EQ(t.size(), 27U) << t;
    EXPECT_EQ(t[10], 'T');
    EXPECT_EQ(t.back(), 'Z');
}
