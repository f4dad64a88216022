// The OpenAPI 3.1 document, built from the route table (paths, parameters, statuses) and the
// component schemas below (the shapes of the SQL functions' JSON).
#pragma once

#include <string>

namespace quant::http {

std::string openapi_document();

}  // namespace quant::http
