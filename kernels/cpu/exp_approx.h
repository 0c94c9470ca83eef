// The exp of the softmax and SiLU: e^x by the range reduction x = n·ln2 + b (|b| <= ln2/2, ln2
// split in two parts) and a degree-5 polynomial for e^b, scaled by 2^n; about 1.5 ulp. This is
// the vectorized exp of llama.cpp's CPU backend (after Arm's optimized-routines). Every ISA
// level gives the same bits as exp_approx, so logits do not depend on the level.
#pragma once

#include <cstdint>

namespace ember::cpu {

// The reference, one value at a time.
float exp_approx(float x);
// y[i] = exp_approx(x[i]) for n values through the active ISA level (x and y may be the same
// array).
void exp_approx_rows(const float *x, float *y, int64_t n);
// The portable loop the scalar level uses (compiler-vectorized at the build's baseline).
void exp_approx_rows_scalar(const float *x, float *y, int64_t n);

}  // namespace ember::cpu
