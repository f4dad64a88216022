#include "quant/cpu.hpp"

#include <atomic>

namespace quant::cpu {

namespace {

std::atomic<bool> allowed{true};

bool detected() {
#if defined(__x86_64__) || defined(__i386__)
    static const bool yes = __builtin_cpu_supports("avx2") != 0;
    return yes;
#else
    return false;
#endif
}

}  // namespace

bool has_avx2() {
    return detected() && allowed.load(std::memory_order_relaxed);
}

void use_avx2(bool allow) {
    allowed.store(allow, std::memory_order_relaxed);
}

}  // namespace quant::cpu
