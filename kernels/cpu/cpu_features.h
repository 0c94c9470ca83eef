// What the running CPU can execute, detected once (CPUID on x86, HWCAP on Arm).
#pragma once

#include <string>

namespace ember::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
    bool neon = false, dotprod = false;
};

const CpuFeatures &cpu_features();
// e.g. "AVX2 FMA F16C AVX512F ..." for reporting.
std::string cpu_features_string();

}  // namespace ember::cpu
