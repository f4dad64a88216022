#include "quant/pq/error.hpp"

#include "text.hpp"

namespace quant::pq {

bool sqlstate_means_lost(const std::string& sqlstate) {
    return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
           sqlstate == "57P03" || sqlstate == "25006";  // read-only: the primary is elsewhere now (failover)
}

bool SqlError::connection_lost() const {
    return connection_broken || sqlstate_means_lost(sqlstate);
}

SqlError error_of(const PGresult* r, const PGconn* c) {
    SqlError e;
    auto field = [&](int code) {
        const char* v = r != nullptr ? PQresultErrorField(r, code) : nullptr;
        return std::string(v != nullptr ? v : "");
    };
    e.sqlstate = field(PG_DIAG_SQLSTATE);
    e.message = field(PG_DIAG_MESSAGE_PRIMARY);
    e.detail = field(PG_DIAG_MESSAGE_DETAIL);
    e.hint = field(PG_DIAG_MESSAGE_HINT);
    e.column = field(PG_DIAG_COLUMN_NAME);
    if (e.message.empty() && r != nullptr)
        e.message = PQresultErrorMessage(r);
    if (e.message.empty() && c != nullptr)
        e.message = PQerrorMessage(c);
    e.message = detail::trimmed(std::move(e.message));
    if (e.message.empty())
        e.message = "no answer from the server";
    e.connection_broken = c == nullptr || PQstatus(c) != CONNECTION_OK;
    return e;
}

}  // namespace quant::pq
