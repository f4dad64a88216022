// The one is_uuid: the 8-4-4-4-12 hexadecimal text form (either case). The validators check
// strategy_id with it, and quant-http answers 404 to an id that is not one.
#pragma once
#include <string_view>

#include "quant/no_postgres.hpp"

namespace quant {

bool is_uuid(std::string_view s);

}  // namespace quant
