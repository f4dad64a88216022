// The one error type of the core. Each code maps to one SQLSTATE in the extension
// (extension/src/errors.c) and to one HTTP status in the REST layer.
#pragma once
#include <stdexcept>
#include <string>

#include "quant/no_postgres.hpp"

namespace quant {

enum class ErrorCode {
    invalid_config,     // a field of a Strategy/Deployment JSON has a bad value
    malformed_json,     // the text is not JSON at all
    limit_exceeded,     // a document too deep or too large, a grid too big
    no_data,            // a ticker without bars
    insufficient_data,  // fewer bars than the strategy needs
    invalid_argument,   // a bad argument of an API call that is not a config field
    cancelled,          // the caller asked to stop (query cancel, shutdown)
    internal,           // a bug: never expected
};

const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, std::string field, const std::string& message, std::string hint = {})
        : std::runtime_error(message), code_(code), field_(std::move(field)), hint_(std::move(hint)) {}

    ErrorCode code() const noexcept { return code_; }
    // JSON path of the offending field ("substrategies[0].window"), empty when not a field.
    const std::string& field() const noexcept { return field_; }
    // The valid values or the way out, empty when there is nothing useful to say.
    const std::string& hint() const noexcept { return hint_; }

private:
    ErrorCode code_;
    std::string field_;
    std::string hint_;
};

}  // namespace quant
