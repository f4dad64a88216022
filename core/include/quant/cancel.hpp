// Cooperative cancellation for long loops. The extension installs a check of Postgres'
// InterruptPending; the worker installs its shutdown flag. Core never blocks on it.
#pragma once
#include "quant/no_postgres.hpp"

namespace quant {

using InterruptCheck = bool (*)();

// Throws Error{cancelled} when the installed check says so. Cheap: one indirect call.
void check_for_interrupts();

// Installs `check` for the current thread and restores the previous one on destruction.
class ScopedInterruptCheck {
public:
    explicit ScopedInterruptCheck(InterruptCheck check) noexcept;
    ~ScopedInterruptCheck();
    ScopedInterruptCheck(const ScopedInterruptCheck&) = delete;
    ScopedInterruptCheck& operator=(const ScopedInterruptCheck&) = delete;

private:
    InterruptCheck previous_;
};

}  // namespace quant
