#include "quant/cancel.hpp"

#include "quant/error.hpp"

namespace quant {

namespace {
thread_local InterruptCheck current_check = nullptr;
}

void check_for_interrupts() {
    if (current_check != nullptr && current_check()) {
        throw Error(ErrorCode::cancelled, "", "cancelled on request");
    }
}

ScopedInterruptCheck::ScopedInterruptCheck(InterruptCheck check) noexcept : previous_(current_check) {
    current_check = check;
}

ScopedInterruptCheck::~ScopedInterruptCheck() {
    current_check = previous_;
}

}  // namespace quant
