// libFuzzer target: the REST request path of quant-http without the network: the first line of
// the input is "METHOD TARGET", the rest the body. The target is split and percent-decoded
// (split_target), matched to a route (match_route), its SQL built (call_sql) and the body read
// as the server reads it (non_finite_to_null, parse_json with the size and depth limits). The
// only acceptable failure is quant::Error from the JSON reader; a crash, another exception or a
// sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message.hpp"
#include "quant/error.hpp"
#include "quant/json.hpp"
#include "routes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const std::size_t nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    const std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos)
        return 0;
    std::string path;
    quant::http::Fields params;
    if (!quant::http::split_target(line.substr(sp + 1), path, params))
        return 0;
    std::string id;
    bool known = false;
    std::string allowed;
    const quant::http::Route* r = quant::http::match_route(line.substr(0, sp), path, id, known, allowed);
    if (r == nullptr)
        return 0;
    std::vector<const quant::http::Param*> present;
    for (const auto& p : r->params)
        present.push_back(&p);
    (void)quant::http::call_sql(*r, present);
    if (!r->has_body())
        return 0;
    try {
        (void)quant::parse_json(quant::non_finite_to_null(body), quant::JsonLimits{1u << 20, 64});
    } catch (const quant::Error&) {
    }
    return 0;
}
