#include "cpu/cpu_features.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace ember::cpu {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// CPUID and XGETBV directly (not __builtin_cpu_supports, whose feature names differ between
// GCC and clang versions). A feature counts only if the OS also saves its registers.
struct CpuidRegs {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};
CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) {
    CpuidRegs r;
    if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) r = CpuidRegs{};
    return r;
}
uint64_t xgetbv0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
bool bit(uint32_t reg, int n) { return ((reg >> n) & 1u) != 0; }
#endif

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    const uint32_t max_leaf = __get_cpuid_max(0, nullptr);
    const CpuidRegs l1 = cpuid(1, 0);
    const uint64_t xcr0 = bit(l1.ecx, 27) ? xgetbv0() : 0;  // OSXSAVE: XGETBV is usable
    const bool os_avx = (xcr0 & 0x6) == 0x6;                 // XMM and YMM state
    const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask and ZMM state
    const CpuidRegs l7 = max_leaf >= 7 ? cpuid(7, 0) : CpuidRegs{};
    const CpuidRegs l7s1 = max_leaf >= 7 && l7.eax >= 1 ? cpuid(7, 1) : CpuidRegs{};
    const bool avx = os_avx && bit(l1.ecx, 28);
    f.fma = avx && bit(l1.ecx, 12);
    f.f16c = avx && bit(l1.ecx, 29);
    f.avx2 = avx && bit(l7.ebx, 5);
    f.avx512f = os_avx512 && bit(l7.ebx, 16);
    f.avx512bw = f.avx512f && bit(l7.ebx, 30);
    f.avx512vl = f.avx512f && bit(l7.ebx, 31);
    f.avx512vnni = f.avx512f && bit(l7.ecx, 11);
    f.avx512bf16 = f.avx512f && bit(l7s1.eax, 5);
#elif defined(__aarch64__)
    f.neon = true;  // mandatory on AArch64
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
    f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#endif
    return f;
}
}  // namespace

const CpuFeatures &cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

std::string cpu_features_string() {
    const CpuFeatures &f = cpu_features();
    std::string s;
    auto add = [&s](bool on, const char *name) {
        if (!on) return;
        if (!s.empty()) s += ' ';
        s += name;
    };
    add(f.avx2, "AVX2");
    add(f.fma, "FMA");
    add(f.f16c, "F16C");
    add(f.avx512f, "AVX512F");
    add(f.avx512bw, "AVX512BW");
    add(f.avx512vl, "AVX512VL");
    add(f.avx512vnni, "AVX512_VNNI");
    add(f.avx512bf16, "AVX512_BF16");
    add(f.neon, "NEON");
    add(f.dotprod, "DOTPROD");
    return s.empty() ? "none" : s;
}

}  // namespace ember::cpu
