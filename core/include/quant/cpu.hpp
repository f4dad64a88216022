#pragma once

// What the CPU this process runs on can do, for the few loops that have a wider form (issue 16).
namespace quant::cpu {

// AVX2 (x86-64), asked once, and allowed (use_avx2); false elsewhere. Code for it is compiled with
// the target attribute "avx2" alone, never FMA: no contraction, so the bits are the SSE2 path's.
bool has_avx2();

// Tests: false makes has_avx2() false, so that the SSE2 forms run (and are compared) on a CPU
// with AVX2 too. Default true.
void use_avx2(bool allowed);

}  // namespace quant::cpu
