#include "quant/uuid.hpp"

#include <cctype>
#include <cstddef>

namespace quant {

bool is_uuid(std::string_view s) {
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : std::isxdigit(static_cast<unsigned char>(s[i])) == 0)
            return false;
    }
    return true;
}

}  // namespace quant
