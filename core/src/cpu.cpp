#include "cpu.hpp"

namespace quant::cpu {

bool has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
    static const bool yes = __builtin_cpu_supports("avx2") != 0;
    return yes;
#else
    return false;
#endif
}

}  // namespace quant::cpu
