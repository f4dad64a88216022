// libFuzzer target: any bytes as a Deployment JSON (quant::parse_deployment_config, the one
// validator of SQL, the worker and REST), as account limits (quant::parse_account_limits) and as
// the breakers' facts (quant::evaluate_breakers, what the worker reads from the database). The
// only acceptable failure is quant::Error; a valid config must survive to_json and parse again to
// the same normal form. Any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant/breakers.hpp"
#include "quant/deployment_config.hpp"
#include "quant/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    quant::Json doc;
    try {
        doc = quant::parse_json(text);
    } catch (const quant::Error&) {
        return 0;
    }
    try {
        const quant::Json normal = quant::to_json(quant::parse_deployment_config(doc));
        const quant::Json again = quant::to_json(quant::parse_deployment_config(normal));
        if (again != normal)
            __builtin_trap();
    } catch (const quant::Error&) {
    }
    try {
        const quant::Json normal = quant::to_json_account(quant::parse_account_limits(doc));
        if (quant::to_json_account(quant::parse_account_limits(normal)) != normal)
            __builtin_trap();
    } catch (const quant::Error&) {
    }
    try {
        (void)quant::evaluate_breakers(doc);
    } catch (const quant::Error&) {
    }
    return 0;
}
