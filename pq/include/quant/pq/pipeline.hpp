// libpq pipeline mode: several statements sent together and answered in one round trip.
// Each add_* sends at once (parameters are copied into libpq's buffer); run() syncs, flushes
// and reads every answer. After the first error the server skips the rest up to the sync.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quant/pq/connection.hpp"

namespace quant::pq {

class Pipeline {
public:
    // Enters pipeline mode; throws SqlError when the connection cannot.
    explicit Pipeline(Connection& c);
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;
    // Leaves pipeline mode (when every answer was read) and rolls back a transaction left open,
    // unless keep_transaction() was called (a BEGIN whose transaction the caller goes on with).
    ~Pipeline();
    void keep_transaction() { keep_transaction_ = true; }

    // Each returns the step's index.
    std::size_t add(const std::string& sql, const Params& params = {});
    // A named prepared statement; when the connection has not prepared it yet, its Parse goes
    // into this pipeline just before it (remembered once the server accepted it).
    std::size_t add_prepared(const std::string& name, const std::string& sql, const Params& params = {});

    struct Outcome {
        std::vector<Result> results;    // one per step; empty when it failed or was skipped
        std::optional<SqlError> error;  // the first error
        std::size_t failed_step = 0;    // its step (when error)
        bool connection_lost() const { return error && error->connection_lost(); }
    };
    // Sends the sync and reads every answer. Call once.
    Outcome run();

private:
    enum class Kind { statement, parse };
    struct Sent {
        Kind kind;
        std::size_t step;  // the step a parse belongs to
        std::string name, sql;
    };
    Connection& c_;
    std::vector<Sent> sent_;
    std::size_t steps_ = 0;
    bool send_failed_ = false;
    bool done_ = false;
    bool keep_transaction_ = false;
};

}  // namespace quant::pq
