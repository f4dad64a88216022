#include "quant/pq/pipeline.hpp"

#include "text.hpp"

namespace quant::pq {

Pipeline::Pipeline(Connection& c) : c_(c) {
    if (!c_.ok() || PQenterPipelineMode(c_.raw()) != 1)
        throw SqlError("08003", "connection not usable for a pipeline", !c_.ok());
}

Pipeline::~Pipeline() {
    PGconn* raw = c_.raw();
    if (raw == nullptr || PQstatus(raw) != CONNECTION_OK)
        return;
    if (!done_) {
        // never run: read what was sent so that the connection can leave pipeline mode
        try {
            run();
        } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor reports nothing
        }
    }
    PQexitPipelineMode(raw);
    if (!keep_transaction_ || PQtransactionStatus(raw) != PQTRANS_INTRANS)
        c_.rollback_quietly();
}

std::size_t Pipeline::add(const std::string& sql, const Params& params) {
    const auto values = detail::values_of(params);
    if (PQsendQueryParams(c_.raw(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0) != 1) {
        send_failed_ = true;
    } else {
        sent_.push_back({Kind::statement, steps_, {}, {}});
    }
    return steps_++;
}

std::size_t Pipeline::add_prepared(const std::string& name, const std::string& sql, const Params& params) {
    if (!c_.is_prepared(name)) {
        if (PQsendPrepare(c_.raw(), name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr) !=
            1) {
            send_failed_ = true;
            return steps_++;
        }
        sent_.push_back({Kind::parse, steps_, name, sql});
    }
    const auto values = detail::values_of(params);
    if (PQsendQueryPrepared(c_.raw(), name.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                            nullptr, 0) != 1) {
        send_failed_ = true;
    } else {
        sent_.push_back({Kind::statement, steps_, {}, {}});
    }
    return steps_++;
}

Pipeline::Outcome Pipeline::run() {
    Outcome out;
    out.results.resize(steps_);
    done_ = true;
    PGconn* raw = c_.raw();
    auto fail = [&](SqlError e, std::size_t step) {
        if (!out.error) {
            out.error = std::move(e);
            out.failed_step = step;
        }
    };
    if (send_failed_ || PQpipelineSync(raw) != 1 || PQflush(raw) != 0) {
        fail(error_of(nullptr, raw), 0);
        out.error->connection_broken = true;  // the pipeline's state is unknown: drop it
        return out;
    }
    // Each sent item answers one result and then a NULL; the sync answers PGRES_PIPELINE_SYNC.
    for (const Sent& s : sent_) {
        bool answered = false;
        while (PGresult* r = PQgetResult(raw)) {
            Result res(r);
            if (answered)
                continue;  // defensive: one result per item
            answered = true;
            const ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_PIPELINE_ABORTED)
                continue;
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                fail(error_of(r, raw), s.step);
                continue;
            }
            if (s.kind == Kind::parse)
                c_.remember_prepared(s.name, s.sql);
            else
                out.results[s.step] = std::move(res);
        }
        if (!answered || PQstatus(raw) != CONNECTION_OK) {
            // the answers are out of step with what was sent: this connection cannot be trusted
            fail(error_of(nullptr, raw), s.step);
            out.error->connection_broken = true;
            return out;
        }
    }
    // The sync's answer; before it, the error of an implicit transaction's commit (a deferred
    // constraint, say: the statements ran, their COMMIT at the sync failed and rolled back),
    // which is this pipeline's error like any other, the connection still in step.
    bool synced = false;
    bool commit_failed = false;
    for (int tries = 0; tries < 3 && !synced; ++tries) {
        PGresult* r = PQgetResult(raw);
        if (r == nullptr) {
            if (commit_failed)
                continue;  // the end of the commit's error, then the sync
            break;
        }
        const Result answer(r);
        const ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            synced = true;
        } else if (st == PGRES_FATAL_ERROR && !commit_failed) {
            commit_failed = true;
            fail(error_of(r, raw), steps_);
        } else {
            break;
        }
    }
    if (!synced) {
        fail(SqlError("08P01", "pipeline out of step", true), steps_);
        out.error->connection_broken = true;
    }
    if (out.error && stale_statement(*out.error)) {
        PQexitPipelineMode(raw);
        c_.rollback_quietly();
        c_.forget_prepared();
    }
    return out;
}

}  // namespace quant::pq
