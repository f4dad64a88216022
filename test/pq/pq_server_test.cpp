// quant_pq against a real server: session defaults, the assumed role, parameters, errors, the
// lost-connection rule, prepared statements (and a stale one), LISTEN/NOTIFY, the pipeline.
// Needs QUANT_PQ_TEST_DB (a libpq conninfo of a superuser; "" for PG*); skipped without it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "quant/pq/connection.hpp"
#include "quant/pq/pipeline.hpp"

namespace pq = quant::pq;
using std::chrono::milliseconds;

namespace {

const char* kRole = "quant_pq_test_role";

std::optional<std::string> test_db() {
    const char* v = std::getenv("QUANT_PQ_TEST_DB");
    if (v == nullptr)
        return std::nullopt;
    return std::string(v);
}

pq::ConnectOptions options() {
    pq::ConnectOptions o;
    o.conninfo = *test_db();
    o.application_name = "quant-pq-test";
    return o;
}

class PqServer : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test_db())
            GTEST_SKIP() << "QUANT_PQ_TEST_DB is not set";
        c.open(options());
    }
    pq::Connection c;
};

TEST_F(PqServer, SessionDefaults) {
    pq::Connection d;
    pq::ConnectOptions o = options();
    o.statement_timeout_ms = 1234;
    o.lock_timeout_ms = 567;
    d.open(o);
    EXPECT_EQ(d.exec("SHOW statement_timeout").get(0, 0), "1234ms");
    EXPECT_EQ(d.exec("SHOW lock_timeout").get(0, 0), "567ms");
    EXPECT_EQ(d.exec("SHOW application_name").get(0, 0), "quant-pq-test");
    EXPECT_TRUE(d.role_note().empty());
}

TEST_F(PqServer, AssumeRole) {
    c.exec(std::string("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '") + kRole +
           "') THEN CREATE ROLE " + kRole + " NOLOGIN; END IF; END $$");
    pq::ConnectOptions o = options();
    o.assume_role = kRole;
    pq::Connection d;
    d.open(o);  // a superuser may
    EXPECT_EQ(d.role(), kRole);
    EXPECT_EQ(d.exec("SELECT current_user::text").get(0, 0), kRole);
    EXPECT_NE(d.role_note().find("assumed"), std::string::npos) << d.role_note();

    o.assume_role = "quant_pq_no_such_role";
    d.open(o);
    EXPECT_NE(d.role(), "quant_pq_no_such_role");
    EXPECT_NE(d.role_note().find("does not exist"), std::string::npos) << d.role_note();
    o.role_must_exist = true;
    try {
        d.open(o);
        FAIL() << "connected without the role";
    } catch (const pq::SqlError& e) {
        EXPECT_EQ(e.sqlstate, "42704");
        EXPECT_TRUE(e.connection_lost());
        EXPECT_FALSE(d.ok());
    }
    d.close();
    c.exec(std::string("DROP ROLE ") + kRole);  // roles are cluster-wide: leave none behind
}

TEST_F(PqServer, ParametersAreValues) {
    const std::string evil = "x'); DROP TABLE pg_class; --";
    const pq::Result r = c.exec("SELECT $1::text IS NULL AS n, $2::text AS t, $3::numeric AS q",
                                {std::nullopt, evil, std::string("1e400")});
    EXPECT_EQ(r.get_bool(0, "n"), true);
    EXPECT_EQ(r.get(0, "t"), evil);
    EXPECT_TRUE(std::isinf(*r.get_double(0, "q")));
    EXPECT_EQ(r.columns(), 3);
    EXPECT_THROW(r.column("nope"), pq::SqlError);
    const pq::Result n = c.exec("SELECT NULL::int AS i, 7::bigint AS j, 'NaN'::float8 AS f");
    EXPECT_FALSE(n.get_int(0, "i"));
    EXPECT_EQ(n.get_int(0, "j"), 7);
    EXPECT_TRUE(std::isnan(*n.get_double(0, "f")));
    EXPECT_FALSE(n.opt(0, "i"));
    EXPECT_FALSE(n.opt(1, "j"));  // no such row
}

TEST_F(PqServer, ErrorFields) {
    try {
        c.exec(
            "DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '22023', DETAIL = 'the detail', "
            "HINT = 'the hint', COLUMN = 'qty'; END $$");
        FAIL() << "no error";
    } catch (const pq::SqlError& e) {
        EXPECT_EQ(e.sqlstate, "22023");
        EXPECT_EQ(e.message, "boom");
        EXPECT_EQ(e.detail, "the detail");
        EXPECT_EQ(e.hint, "the hint");
        EXPECT_EQ(e.column, "qty");
        EXPECT_FALSE(e.connection_lost());
    }
    EXPECT_EQ(c.exec("SELECT 1").get(0, 0), "1");  // still usable
}

TEST_F(PqServer, StatementTimeoutIsNotALostConnection) {
    c.exec("SET statement_timeout = 100");
    try {
        c.exec("SELECT pg_sleep(2)");
        FAIL() << "no timeout";
    } catch (const pq::SqlError& e) {
        EXPECT_EQ(e.sqlstate, "57014");
        EXPECT_FALSE(e.connection_lost());
    }
}

TEST_F(PqServer, TerminatedBackendIsLost) {
    pq::Connection killer;
    killer.open(options());
    killer.exec("SELECT pg_terminate_backend($1::int)", {std::to_string(c.backend_pid())});
    try {
        for (int i = 0; i < 50; ++i)  // the termination is asynchronous
            c.exec("SELECT pg_sleep(0.02)");
        FAIL() << "still connected";
    } catch (const pq::SqlError& e) {
        EXPECT_TRUE(e.connection_lost()) << e.sqlstate << " " << e.message;
    }
}

TEST_F(PqServer, PreparedOncePerConnection) {
    for (int i = 0; i < 3; ++i) {
        const pq::Result r = c.exec_prepared("pq_test_add", "SELECT $1::int + 1", {std::to_string(i)});
        EXPECT_EQ(r.get_int(0, 0), i + 1);
    }
    EXPECT_TRUE(c.is_prepared("pq_test_add"));
    EXPECT_EQ(c.exec("SELECT count(*) FROM pg_prepared_statements WHERE name = 'pq_test_add'").get(0, 0),
              "1");
}

TEST_F(PqServer, StaleStatementIsParsedAgain) {
    c.exec("CREATE TEMP TABLE pq_t (a int)");
    c.exec("INSERT INTO pq_t VALUES (1)");
    EXPECT_EQ(c.exec_prepared("pq_test_t", "SELECT * FROM pq_t").columns(), 1);
    c.exec("ALTER TABLE pq_t ADD COLUMN b int");
    try {
        c.exec_prepared("pq_test_t", "SELECT * FROM pq_t");
        FAIL() << "the cached plan was reused";
    } catch (const pq::SqlError& e) {
        EXPECT_TRUE(pq::stale_statement(e)) << e.sqlstate;
    }
    EXPECT_FALSE(c.is_prepared("pq_test_t"));
    EXPECT_EQ(c.exec_prepared("pq_test_t", "SELECT * FROM pq_t").columns(), 2);
}

TEST_F(PqServer, Notifications) {
    c.listen("pq_test channel");  // quoted as an identifier
    EXPECT_EQ(c.wait_readable(milliseconds(50)), pq::Wait::timeout);
    pq::Connection other;
    other.open(options());
    other.exec("SELECT pg_notify('pq_test channel', $1)", {std::string("hello")});
    EXPECT_EQ(c.wait_readable(milliseconds(5000)), pq::Wait::readable);
    const auto n = c.notifications();
    ASSERT_EQ(n.size(), 1U);
    EXPECT_EQ(n[0].channel, "pq_test channel");
    EXPECT_EQ(n[0].payload, "hello");
    EXPECT_EQ(n[0].backend_pid, other.backend_pid());
}

TEST_F(PqServer, PipelineOneRoundTrip) {
    pq::Pipeline::Outcome o;
    {
        pq::Pipeline p(c);
        p.add("BEGIN");
        const auto a = p.add_prepared("pq_test_pipe", "SELECT $1::int * 2", {std::string("21")});
        const auto b = p.add("SELECT $1::text", {std::nullopt});
        p.add("COMMIT");
        o = p.run();
        ASSERT_FALSE(o.error) << o.error->message;
        EXPECT_EQ(o.results[a].get_int(0, 0), 42);
        EXPECT_TRUE(o.results[b].is_null(0, 0));
    }
    EXPECT_TRUE(c.is_prepared("pq_test_pipe"));  // the Parse travelled in the pipeline
    EXPECT_EQ(PQpipelineStatus(c.raw()), PQ_PIPELINE_OFF);
    EXPECT_EQ(c.exec("SELECT 1").get(0, 0), "1");
}

TEST_F(PqServer, PipelineStopsAtTheFirstError) {
    {
        pq::Pipeline p(c);
        p.add("BEGIN");
        p.add("CREATE TEMP TABLE pq_p (a int)");
        const auto bad = p.add("SELECT $1::int", {std::string("not a number")});
        const auto after = p.add("SELECT 1");
        p.add("COMMIT");
        const auto o = p.run();
        ASSERT_TRUE(o.error);
        EXPECT_EQ(o.error->sqlstate, "22P02");
        EXPECT_EQ(o.failed_step, bad);
        EXPECT_FALSE(o.connection_lost());
        EXPECT_FALSE(o.results[after]);  // skipped by the server
    }
    // the transaction was rolled back when the pipeline ended
    EXPECT_EQ(PQtransactionStatus(c.raw()), PQTRANS_IDLE);
    EXPECT_EQ(c.exec("SELECT count(*) FROM pg_class WHERE relname = 'pq_p'").get(0, 0), "0");
}

// Without BEGIN the statements up to the sync are one implicit transaction, committed at the
// sync: an error raised by that commit (a deferred constraint here) is the pipeline's error, with
// its SQLSTATE, and the connection stays usable.
TEST_F(PqServer, PipelineImplicitTransactionCommitError) {
    c.exec("CREATE TABLE IF NOT EXISTS pq_deferred (a int UNIQUE DEFERRABLE INITIALLY DEFERRED)");
    c.exec("TRUNCATE pq_deferred");
    {
        pq::Pipeline p(c);
        const auto first = p.add("INSERT INTO pq_deferred VALUES (1)");
        p.add("INSERT INTO pq_deferred VALUES (1)");
        const auto o = p.run();
        ASSERT_TRUE(o.error);
        EXPECT_EQ(o.error->sqlstate, "23505") << o.error->message;
        EXPECT_FALSE(o.connection_lost());
        EXPECT_TRUE(o.results[first]);  // the statements ran; their commit failed
    }
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(PQtransactionStatus(c.raw()), PQTRANS_IDLE);
    EXPECT_EQ(c.exec("SELECT count(*) FROM pq_deferred").get(0, 0), "0");  // rolled back
    {
        pq::Pipeline p(c);  // and the next pipeline works
        const auto one = p.add("SELECT 1");
        const auto o = p.run();
        EXPECT_FALSE(o.error);
        EXPECT_EQ(o.results[one].get(0, 0), "1");
    }
    c.exec("DROP TABLE pq_deferred");
}

TEST_F(PqServer, PipelineLocalTimeoutForOneStatement) {
    pq::ConnectOptions o = options();
    o.statement_timeout_ms = 150;
    pq::Connection d;
    d.open(o);
    {
        pq::Pipeline p(d);
        p.add("BEGIN");
        p.add("SELECT pg_catalog.set_config('statement_timeout', $1, true)", {std::string("3000")});
        p.add("SELECT pg_sleep(0.4)");
        p.add("COMMIT");
        const auto out = p.run();
        EXPECT_FALSE(out.error) << out.error->message;
    }
    EXPECT_THROW(d.exec("SELECT pg_sleep(0.4)"), pq::SqlError);  // the default again
}

}  // namespace
