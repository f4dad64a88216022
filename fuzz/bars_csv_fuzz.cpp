// libFuzzer target: any bytes as a CSV of bars (quant::read_bars_csv, core/src/bars.cpp: the
// header line, then date,open,high,low,close,volume with the date as YYYY-MM-DD), the parser of
// quant.load_bars_csv and the tests' and benchmarks' bar files. The only acceptable failure is
// quant::Error naming the line; the parsed columns must have one length, and every bar's date
// must format back to a day. Any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant/bars.hpp"
#include "quant/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const quant::OwnedBars bars = quant::read_bars_csv(text);
        const std::size_t n = bars.ts.size();
        if (bars.open.size() != n || bars.high.size() != n || bars.low.size() != n ||
            bars.close.size() != n || bars.volume.size() != n)
            __builtin_trap();
        for (const auto t : bars.ts)
            (void)quant::format_date(t);
    } catch (const quant::Error&) {
    }
    return 0;
}
