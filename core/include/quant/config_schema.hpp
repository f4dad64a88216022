// JSON Schemas (draft 2020-12) of the Strategy and Deployment JSON, built from the key tables the
// validators reject unknown keys with: what the schema lists is what the validator accepts. The
// schema cannot say everything the validator checks (a window's floor depends on the indicator,
// FILTER needs two substrategies, a live deployment needs a live broker); the validator has the
// last word, the schema never refuses a config the validator accepts.
#pragma once
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

Json strategy_config_schema();
Json deployment_config_schema();

}  // namespace quant
