#include "pg.hpp"

namespace worker {

void Conn::open(const std::string& conninfo, const std::string& application_name) {
    close();
    const char* keys[] = {"dbname", "application_name", "connect_timeout", nullptr};
    const char* values[] = {conninfo.empty() ? nullptr : conninfo.c_str(), application_name.c_str(), "5",
                            nullptr};
    if (conninfo.empty()) {
        keys[0] = "application_name";
        values[0] = application_name.c_str();
        keys[1] = "connect_timeout";
        values[1] = "5";
        keys[2] = nullptr;
        values[2] = nullptr;
    }
    c_ = PQconnectdbParams(keys, values, 1);
    if (c_ == nullptr || PQstatus(c_) != CONNECTION_OK) {
        std::string msg = c_ ? PQerrorMessage(c_) : "out of memory";
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
            msg.pop_back();
        close();
        throw DbError("connection failed: " + msg, "08001", true);
    }
}

void Conn::close() {
    if (c_)
        PQfinish(c_);
    c_ = nullptr;
}

Result Conn::exec(const std::string& sql, const std::vector<Param>& params) {
    if (c_ == nullptr)
        throw DbError("not connected", "08003", true);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    Result r(PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
    const ExecStatusType st = r.raw() ? PQresultStatus(r.raw()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    std::string state;
    std::string msg;
    if (r.raw()) {
        const char* s = PQresultErrorField(r.raw(), PG_DIAG_SQLSTATE);
        if (s)
            state = s;
        msg = PQresultErrorMessage(r.raw());
    }
    if (msg.empty())
        msg = PQerrorMessage(c_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
        msg.pop_back();
    const bool lost = PQstatus(c_) != CONNECTION_OK || state.rfind("08", 0) == 0 || state == "57P01" ||
                      state == "57P02" || state == "57P03";
    throw DbError(msg, state, lost);
}

void Conn::rollback_quietly() {
    if (c_ == nullptr || PQstatus(c_) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(c_) == PQTRANS_IDLE)
        return;
    PGresult* r = PQexec(c_, "ROLLBACK");
    if (r)
        PQclear(r);
}

}  // namespace worker
