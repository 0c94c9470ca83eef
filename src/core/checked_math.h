// Overflow-checked size arithmetic for everything computed from untrusted file contents.
#pragma once

#include <cstdint>

namespace ember {

inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
inline bool add_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_add_overflow(a, b, out);
}
inline bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
// Rounds x up to a multiple of the power-of-two `align`; false on overflow.
inline bool align_up(uint64_t x, uint64_t align, uint64_t *out) {
    uint64_t sum;
    if (add_overflows(x, align - 1, &sum)) return false;
    *out = sum & ~(align - 1);
    return true;
}

}  // namespace ember
