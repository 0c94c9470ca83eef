#include "cpu/isa.h"

#include <array>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "cpu/cpu_features.h"
#include "cpu/scalar/scale_search.h"

// EMBER_KERNELS_X86 / EMBER_KERNELS_ARM are set by kernels/cpu/CMakeLists.txt when the level
// directories of that architecture are compiled into this build.

namespace ember::cpu {

namespace {

constexpr std::array<IsaLevel, 6> kAllLevels = {IsaLevel::Scalar, IsaLevel::Avx2,   IsaLevel::Avx512,
                                                IsaLevel::Avx512Vnni, IsaLevel::Neon, IsaLevel::NeonDotprod};

std::string lower(const std::string &s) {
    std::string out = s;
    for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string available_list() {
    std::string s;
    for (IsaLevel level : available_isa_levels()) {
        if (!s.empty()) s += ", ";
        s += isa_name(level);
    }
    return s;
}

IsaKernels build_kernels(IsaLevel level) {
    IsaKernels k{};
    k.level = level;
    switch (level) {
        case IsaLevel::Scalar: break;
#if defined(EMBER_KERNELS_X86)
        case IsaLevel::Avx512Vnni:
            fill_avx2_kernels(k);
            fill_avx512_kernels(k);
            fill_avx512vnni_kernels(k);
            break;
        case IsaLevel::Avx512:
            fill_avx2_kernels(k);
            fill_avx512_kernels(k);
            break;
        case IsaLevel::Avx2: fill_avx2_kernels(k); break;
#endif
#if defined(EMBER_KERNELS_ARM)
        case IsaLevel::NeonDotprod:
            fill_neon_kernels(k);
            fill_neon_dotprod_kernels(k);
            break;
        case IsaLevel::Neon: fill_neon_kernels(k); break;
#endif
        default: break;
    }
    complete_kernel_table(k);
    return k;
}

}  // namespace

const char *isa_name(IsaLevel level) {
    switch (level) {
        case IsaLevel::Scalar: return "scalar";
        case IsaLevel::Avx2: return "avx2";
        case IsaLevel::Avx512: return "avx512";
        case IsaLevel::Avx512Vnni: return "avx512vnni";
        case IsaLevel::Neon: return "neon";
        case IsaLevel::NeonDotprod: return "neon-dotprod";
    }
    return "unknown";
}

bool isa_from_name(const std::string &name, IsaLevel *out) {
    const std::string n = lower(name);
    for (IsaLevel level : kAllLevels) {
        if (n == isa_name(level)) {
            *out = level;
            return true;
        }
    }
    return false;
}

bool isa_compiled(IsaLevel level) {
    switch (level) {
        case IsaLevel::Scalar: return true;
        case IsaLevel::Avx2:
        case IsaLevel::Avx512:
        case IsaLevel::Avx512Vnni:
#if defined(EMBER_KERNELS_X86)
            return true;
#else
            return false;
#endif
        case IsaLevel::Neon:
        case IsaLevel::NeonDotprod:
#if defined(EMBER_KERNELS_ARM)
            return true;
#else
            return false;
#endif
    }
    return false;
}

bool isa_cpu_supports(IsaLevel level) {
    const CpuFeatures &f = cpu_features();
    const bool avx2 = f.avx2 && f.fma && f.f16c;
    const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl;
    switch (level) {
        case IsaLevel::Scalar: return true;
        case IsaLevel::Avx2: return avx2;
        case IsaLevel::Avx512: return avx512;
        case IsaLevel::Avx512Vnni: return avx512 && f.avx512vnni;
        case IsaLevel::Neon: return f.neon;
        case IsaLevel::NeonDotprod: return f.neon && f.dotprod;
    }
    return false;
}

bool isa_available(IsaLevel level) {
    static const std::array<bool, kAllLevels.size()> available = [] {
        std::array<bool, kAllLevels.size()> a{};
        for (IsaLevel l : kAllLevels) a[static_cast<size_t>(l)] = isa_compiled(l) && isa_cpu_supports(l);
        return a;
    }();
    return available[static_cast<size_t>(level)];
}

std::vector<IsaLevel> available_isa_levels() {
    std::vector<IsaLevel> levels;
    for (IsaLevel level : kAllLevels)
        if (isa_available(level)) levels.push_back(level);
    return levels;
}

IsaLevel best_isa_level() { return available_isa_levels().back(); }

IsaLevel resolve_isa_level(const char *value) {
    if (value == nullptr || *value == '\0') return best_isa_level();
    IsaLevel level;
    if (!isa_from_name(value, &level)) {
        fail(EMBER_ERR_INVALID_ARGUMENT,
             std::string("EMBER_ISA='") + value +
                 "' is not a kernel level (use scalar, avx2, avx512, avx512vnni, neon or neon-dotprod; "
                 "available here: " + available_list() + ")");
    }
    if (!isa_compiled(level)) {
        fail(EMBER_ERR_UNSUPPORTED, std::string("EMBER_ISA=") + isa_name(level) +
                                        ": this build has no kernels for that level (built for " +
                                        available_list() + ")");
    }
    if (!isa_cpu_supports(level)) {
        fail(EMBER_ERR_UNSUPPORTED, std::string("EMBER_ISA=") + isa_name(level) +
                                        ": this CPU cannot run it (CPU features: " + cpu_features_string() +
                                        "; available: " + available_list() + ")");
    }
    return level;
}

IsaLevel active_isa_level() {
    // Resolved once; an invalid EMBER_ISA keeps failing the same way on every call.
    static const std::optional<IsaLevel> level = []() -> std::optional<IsaLevel> {
        try {
            return resolve_isa_level(std::getenv("EMBER_ISA"));
        } catch (const Error &) {
            return std::nullopt;
        }
    }();
    if (!level) return resolve_isa_level(std::getenv("EMBER_ISA"));  // throws again
    return *level;
}

const IsaKernels &isa_kernels(IsaLevel level) {
    static std::array<IsaKernels, kAllLevels.size()> tables;
    static std::array<std::once_flag, kAllLevels.size()> once;
    if (!isa_available(level)) {
        fail(EMBER_ERR_UNSUPPORTED, std::string("kernel level ") + isa_name(level) +
                                        " is not available (available: " + available_list() + ")");
    }
    const size_t i = static_cast<size_t>(level);
    std::call_once(once[i], [&] { tables[i] = build_kernels(level); });
    return tables[i];
}

void complete_kernel_table(IsaKernels &k) {
    for (uint32_t t = 0; t <= kMaxTensorTypeId; ++t) {
        const auto type = static_cast<TensorType>(t);
        const TypeTraits *traits = type_traits(type);
        IsaVecDot &d = k.dot[t];
        const IsaGemm &g = k.gemm[t];
        const IsaGemv &v = k.gemv[t];
        auto check = [&](const char *kind, TensorType expects) {
            if (traits == nullptr || traits->vec_dot == nullptr)
                fail(EMBER_ERR_INTERNAL, std::string("kernel level ") + isa_name(k.level) + " registers a " + kind +
                                             " kernel for " + tensor_type_name(type) +
                                             ", which has no reference dot product in the traits table");
            if (expects != traits->vec_dot_type)
                fail(EMBER_ERR_INTERNAL, std::string("kernel level ") + isa_name(k.level) + ": the " + kind +
                                             " kernel for " + tensor_type_name(type) + " expects " +
                                             tensor_type_name(expects) + " activations, the traits table says " +
                                             tensor_type_name(traits->vec_dot_type));
        };
        if (d.vec_dot != nullptr) check("vec_dot", d.vec_dot_type);
        if (g.gemm != nullptr) check("GEMM", g.vec_dot_type);
        if (v.gemv != nullptr) check("GEMV", v.vec_dot_type);
        if (d.vec_dot == nullptr && traits != nullptr && traits->vec_dot != nullptr)
            d = IsaVecDot{traits->vec_dot_type, traits->vec_dot, nullptr};
    }
    ScaleSearchKernels &s = k.scale_search;
    if (s.code_sums == nullptr) s.code_sums = code_sums_reference;
    if (s.fit_errors == nullptr) s.fit_errors = fit_errors_reference;
    if (s.grid_errors == nullptr) s.grid_errors = grid_errors_reference;
    if (s.level_sums == nullptr) s.level_sums = level_sums_reference;
}

}  // namespace ember::cpu
