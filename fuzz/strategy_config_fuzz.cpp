// libFuzzer target: any bytes through parse_strategy_config(std::string_view), the one validator
// that SQL, the worker and REST call on untrusted Strategy JSON. The only acceptable failure is
// quant::Error; any other exception (it would surface as an internal error in Postgres), a crash,
// or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant/error.hpp"
#include "quant/strategy_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    quant::Json normal;
    try {
        normal = quant::to_json(quant::parse_strategy_config(text));
    } catch (const quant::Error&) {
        return 0;  // rejected with a code, a field and a hint: the expected outcome for bad input
    }
    // A config that parses must normalise to a form that parses again, to the same form. An
    // Error here is a finding too (the normal form of a valid config must be valid).
    const quant::StrategyConfig again = quant::parse_strategy_config(std::string_view(normal.dump()));
    if (quant::to_json(again) != normal)
        __builtin_trap();
    return 0;
}
