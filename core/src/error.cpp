#include "quant/error.hpp"

namespace quant {

const char* error_code_name(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_config:
            return "invalid_config";
        case ErrorCode::malformed_json:
            return "malformed_json";
        case ErrorCode::limit_exceeded:
            return "limit_exceeded";
        case ErrorCode::no_data:
            return "no_data";
        case ErrorCode::insufficient_data:
            return "insufficient_data";
        case ErrorCode::invalid_argument:
            return "invalid_argument";
        case ErrorCode::cancelled:
            return "cancelled";
        case ErrorCode::internal:
            return "internal";
    }
    return "internal";
}

}  // namespace quant
