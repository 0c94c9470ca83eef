// IEEE half (F16) and bfloat16 (BF16) <-> float32, scalar and exact; vector kernels have their
// own versions and are tested against these.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ember {

inline float bits_to_f32(uint32_t b) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}
inline uint32_t f32_to_bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
        const float v = static_cast<float>(mant) * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (mant << 13));  // inf / NaN
    return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

// Round to nearest, ties to even; overflow gives infinity; NaN stays NaN.
inline uint16_t fp32_to_fp16(float f) {
    uint32_t x = f32_to_bits(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00 : 0x7c00);
    if (x >= 0x477ff000u) return sign | 0x7c00;  // >= 65520 rounds to infinity
    if (x < 0x38800000u) {                        // below 2^-14: subnormal half (or zero)
        const float scaled = bits_to_f32(x) * 16777216.0f;  // exact: times 2^24
        return sign | static_cast<uint16_t>(std::nearbyint(scaled));
    }
    x += 0xfffu + ((x >> 13) & 1u);
    return sign | static_cast<uint16_t>((x - 0x38000000u) >> 13);
}

inline float bf16_to_fp32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }

inline uint16_t fp32_to_bf16(float f) {
    const uint32_t x = f32_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace ember
