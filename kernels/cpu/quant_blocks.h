// Block layouts of the quantized types exactly as GGUF stores them (little-endian; `d`/`m`
// fields are IEEE half bits). QK_K = 256 is the K-quant super-block.
#pragma once

#include <cstdint>

namespace ember::cpu {

constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK8_1 = 32, QK4_NL = 32;
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;

struct block_q4_0 { uint16_t d; uint8_t qs[QK4_0 / 2]; };                         // 4-bit, x = d*(q-8)
struct block_q4_1 { uint16_t d, m; uint8_t qs[QK4_1 / 2]; };                      // x = d*q + m
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };          // 5th bits in qh
struct block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
struct block_q8_0 { uint16_t d; int8_t qs[QK8_0]; };
struct block_q8_1 { uint16_t d, s; int8_t qs[QK8_1]; };                           // s = d * sum(qs)

struct block_q2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; };
struct block_q3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; };
struct block_q4_K { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
struct block_q5_K { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct block_q6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
struct block_q8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };        // activations only

struct block_iq4_nl { uint16_t d; uint8_t qs[QK4_NL / 2]; };
struct block_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; };

// MXFP4 (OCP microscaling FP4, gpt-oss's experts): 32 E2M1 codes sharing one E8M0 exponent.
// The 16 code values are stored doubled as integers (kMxfp4Values), so the block scale is
// half the exponent's power of two: x = e8m0_to_fp32_half(e) * kMxfp4Values[code]. Codes pack
// as in Q4_0 (byte j: element j low nibble, element j + 16 high nibble). 17 bytes: unaligned.
constexpr int QK_MXFP4 = 32;
struct block_mxfp4 { uint8_t e; uint8_t qs[QK_MXFP4 / 2]; };

// 2^(e - 128) as a float, exactly (e = 0 and 1 are the subnormals 2^-128, 2^-127).
inline float e8m0_to_fp32_half(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    float f;
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
}

static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20, "block size");
static_assert(sizeof(block_q5_0) == 22 && sizeof(block_q5_1) == 24, "block size");
static_assert(sizeof(block_q8_0) == 34 && sizeof(block_q8_1) == 36, "block size");
static_assert(sizeof(block_q2_K) == 84 && sizeof(block_q3_K) == 110, "block size");
static_assert(sizeof(block_q4_K) == 144 && sizeof(block_q5_K) == 176, "block size");
static_assert(sizeof(block_q6_K) == 210 && sizeof(block_q8_K) == 292, "block size");
static_assert(sizeof(block_iq4_nl) == 18 && sizeof(block_iq4_xs) == 136, "block size");
static_assert(sizeof(block_mxfp4) == 17, "block size");

}  // namespace ember::cpu
