// The one is_uuid: the 8-4-4-4-12 hexadecimal text form (either case).
#pragma once

#include <string_view>

namespace quant::pq {

bool is_uuid(std::string_view s);

}  // namespace quant::pq
