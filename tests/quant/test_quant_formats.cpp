// The tensor formats of kernels/cpu against llama.cpp's files: dequantization bit for bit,
// quantizers byte for byte (legacy types) or at least as accurate (K-quants, IQ4), and every
// dot product against the float dot of the dequantized operands.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"
#include "core/tensor_type.h"
#include "cpu/isa.h"
#include "cpu/quant_blocks.h"
#include "cpu/scalar/scalar_kernels.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_file.h"
#include "support/test_paths.h"

using namespace ember;
using cpu::TypeTraits;

namespace {

// The weight types with a traits row (activation-only types Q8_1 and Q8_K are separate).
const TensorType kWeightTypes[] = {
    TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
    TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
    TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::IQ4_NL, TensorType::IQ4_XS,
    TensorType::MXFP4,
};

size_t row_bytes(TensorType type, int64_t n) {
    uint64_t bytes = 0;
    REQUIRE(tensor_row_bytes(type, static_cast<uint64_t>(n), &bytes));
    return static_cast<size_t>(bytes);
}

std::vector<float> read_f32_file(const std::string &path) {
    const std::vector<uint8_t> bytes = test::read_file_bytes(path);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

const nlohmann::json &reference() {
    static const nlohmann::json j = [] {
        std::ifstream in(test::shared_path("quant/reference.json"));
        return nlohmann::json::parse(in);
    }();
    return j;
}

gguf::File &model_file(const std::string &name) {
    static std::vector<std::pair<std::string, std::unique_ptr<gguf::File>>> cache;
    for (auto &e : cache) {
        if (e.first == name) return *e.second;
    }
    cache.emplace_back(name, gguf::File::open(test::shared_path("models/" + name)));
    return *cache.back().second;
}

// Source rows (F32) of a tensor of small-llama-F32.gguf.
const float *source_tensor(const std::string &tensor, int64_t *n_elements) {
    const gguf::TensorInfo &t = model_file("small-llama-F32.gguf").tensor(tensor);
    REQUIRE(t.type == TensorType::F32);
    *n_elements = static_cast<int64_t>(t.n_elements());
    return reinterpret_cast<const float *>(t.data);
}

// Quantizes `rows` rows of n_per_row floats with the scalar quantizer of `type`.
std::vector<uint8_t> quantize_rows(TensorType type, const float *src, int64_t rows, int64_t n_per_row) {
    const TypeTraits *tt = cpu::type_traits(type);
    REQUIRE(tt != nullptr);
    REQUIRE(tt->quantize_row != nullptr);
    const size_t rb = row_bytes(type, n_per_row);
    std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) tt->quantize_row(src + r * n_per_row, out.data() + rb * static_cast<size_t>(r), n_per_row, nullptr);
    return out;
}

std::vector<float> dequantize(TensorType type, const void *data, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    cpu::type_traits(type)->dequantize_row(data, out.data(), n);
    return out;
}

double rmse(const float *a, const float *b, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double e = static_cast<double>(a[i]) - b[i];
        s += e * e;
    }
    return std::sqrt(s / static_cast<double>(n));
}

std::vector<float> random_floats(int64_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto &x : v) x = dist(rng);
    return v;
}

// The float dot of dequantized weights and activations, and the sum of |products| (the scale
// of its rounding error). Q8_1 activations carry s = d * sum(q) rounded to half, and a Q4_1 /
// Q5_1 dot applies the weights' min m through it: sum((x - m) * a) + m * s per block.
void reference_dot(TensorType type, const uint8_t *wq, const uint8_t *aq, const std::vector<float> &wd,
                   const std::vector<float> &ad, double *dot, double *magnitude) {
    *dot = 0.0;
    *magnitude = 0.0;
    const bool via_sum = cpu::type_traits(type)->vec_dot_type == TensorType::Q8_1;
    const size_t wblock = tensor_type_info(type).block_bytes;
    for (size_t b = 0; b < wd.size() / 32; ++b) {
        double m = 0.0;
        if (via_sum) {
            uint16_t mh, sh;
            std::memcpy(&mh, wq + b * wblock + 2, 2);  // {d, m, ...}
            std::memcpy(&sh, aq + b * sizeof(cpu::block_q8_1) + 2, 2);  // {d, s, qs}
            m = fp16_to_fp32(mh);
            *dot += m * fp16_to_fp32(sh);
            *magnitude += std::fabs(m * fp16_to_fp32(sh));
        }
        for (size_t i = 32 * b; i < 32 * b + 32; ++i) {
            const double p = (static_cast<double>(wd[i]) - m) * ad[i];
            *dot += p;
            *magnitude += std::fabs(p);
        }
    }
}

}  // namespace

TEST_CASE("traits table: one row per type, consistent with the tensor type table") {
    for (TensorType type : kWeightTypes) {
        INFO(tensor_type_name(type));
        const TypeTraits *st = cpu::type_traits(type);
        REQUIRE(st != nullptr);
        CHECK(st->type == type);
        CHECK(st->dequantize_row != nullptr);
        CHECK(st->quantize_row != nullptr);
        CHECK(st->vec_dot != nullptr);
        const TypeTraits *act = cpu::type_traits(st->vec_dot_type);
        REQUIRE(act != nullptr);
        CHECK(act->quantize_row != nullptr);
        // Weight and activation blocks must tile the same rows.
        CHECK(tensor_type_info(st->vec_dot_type).block_size % tensor_type_info(type).block_size == 0);
    }
    CHECK(cpu::type_traits(TensorType::Q4_0)->vec_dot_type == TensorType::Q8_0);
    CHECK(cpu::type_traits(TensorType::Q4_1)->vec_dot_type == TensorType::Q8_1);
    CHECK(cpu::type_traits(TensorType::Q4_K)->vec_dot_type == TensorType::Q8_K);
    CHECK(cpu::type_traits(TensorType::IQ4_XS)->vec_dot_type == TensorType::Q8_K);
    CHECK(cpu::type_traits(TensorType::IQ2_XXS) == nullptr);
    CHECK(cpu::type_traits(static_cast<TensorType>(1000)) == nullptr);
}

TEST_CASE("every kernel level agrees with the traits table") {
    // Each level's table names the activation format its kernels expect; it must be the row's
    // vec_dot_type, and a type without a kernel at some level gets the scalar reference there.
    for (cpu::IsaLevel level : cpu::available_isa_levels()) {
        const cpu::IsaKernels &k = cpu::isa_kernels(level);
        for (TensorType type : kWeightTypes) {
            INFO(cpu::isa_name(level) << " " << tensor_type_name(type));
            const TypeTraits *tt = cpu::type_traits(type);
            const cpu::IsaVecDot &d = k.dot[static_cast<uint32_t>(type)];
            REQUIRE(d.vec_dot != nullptr);
            CHECK(d.vec_dot_type == tt->vec_dot_type);
            if (level == cpu::IsaLevel::Scalar) CHECK(d.vec_dot == tt->vec_dot);
            const cpu::IsaGemm &g = k.gemm[static_cast<uint32_t>(type)];
            if (g.gemm != nullptr) CHECK(g.vec_dot_type == tt->vec_dot_type);
            const cpu::IsaGemv &v = k.gemv[static_cast<uint32_t>(type)];
            if (v.gemv != nullptr) CHECK((v.vec_dot_type == tt->vec_dot_type && v.row_group > 0));
        }
        CHECK(k.dot[static_cast<uint32_t>(TensorType::Q8_K)].vec_dot == nullptr);  // activations only
    }

    // A level that registers a kernel for the wrong activations is stopped when its table is built.
    auto fake = [](int64_t, float *out, const void *, const void *) { *out = 0.0f; };
    cpu::IsaKernels wrong{};
    wrong.level = cpu::IsaLevel::Avx2;
    wrong.dot[static_cast<uint32_t>(TensorType::Q4_K)] = cpu::IsaVecDot{TensorType::Q8_0, fake, nullptr};
    try {
        cpu::complete_kernel_table(wrong);
        FAIL("a kernel expecting Q8_0 activations for Q4_K must be rejected");
    } catch (const Error &e) {
        CHECK(e.status() == EMBER_ERR_INTERNAL);
        CHECK_THAT(e.what(), Catch::Contains("avx2") && Catch::Contains("Q4_K") && Catch::Contains("Q8_K"));
    }
    cpu::IsaKernels unknown{};
    unknown.dot[static_cast<uint32_t>(TensorType::IQ2_XXS)] = cpu::IsaVecDot{TensorType::Q8_K, fake, nullptr};
    CHECK_THROWS_AS(cpu::complete_kernel_table(unknown), Error);

    // The gaps of a partial table are the scalar reference.
    cpu::IsaKernels partial{};
    partial.dot[static_cast<uint32_t>(TensorType::Q8_0)] = cpu::IsaVecDot{TensorType::Q8_0, fake, nullptr};
    cpu::complete_kernel_table(partial);
    CHECK(partial.dot[static_cast<uint32_t>(TensorType::Q8_0)].vec_dot == +fake);
    CHECK(partial.dot[static_cast<uint32_t>(TensorType::Q4_0)].vec_dot == cpu::type_traits(TensorType::Q4_0)->vec_dot);
}

TEST_CASE("dequantization is bit-exact with llama.cpp's values") {
    for (const auto &[file_type, tensors] : reference()["types"].items()) {
        for (const auto &[tensor, entry] : tensors.items()) {
            INFO(file_type << " " << tensor);
            TensorType type;
            REQUIRE(tensor_type_from_name(entry["ggml_type"].get<std::string>(), &type));
            const gguf::TensorInfo &t = model_file("small-llama-pure-" + file_type + ".gguf").tensor(tensor);
            REQUIRE(t.type == type);
            const std::vector<float> expected = read_f32_file(test::shared_path(entry["dequant_file"].get<std::string>()));
            REQUIRE(expected.size() == t.n_elements());
            const int64_t n_per_row = static_cast<int64_t>(t.ne[0]);
            std::vector<float> got(expected.size());
            for (uint64_t r = 0; r < t.n_rows(); ++r) {
                cpu::type_traits(type)->dequantize_row(t.data + r * t.row_bytes(), got.data() + r * t.ne[0], n_per_row);
            }
            size_t mismatches = 0;
            for (size_t i = 0; i < got.size(); ++i) mismatches += f32_to_bits(got[i]) != f32_to_bits(expected[i]);
            CHECK(mismatches == 0);
        }
    }
}

TEST_CASE("legacy quantizers reproduce llama.cpp's bytes on every 2-D tensor") {
    const struct { const char *file; TensorType type; } cases[] = {
        {"small-llama-pure-Q4_0.gguf", TensorType::Q4_0}, {"small-llama-pure-Q4_1.gguf", TensorType::Q4_1},
        {"small-llama-pure-Q5_0.gguf", TensorType::Q5_0}, {"small-llama-pure-Q5_1.gguf", TensorType::Q5_1},
        {"small-llama-pure-Q8_0.gguf", TensorType::Q8_0},
    };
    gguf::File &source = model_file("small-llama-F32.gguf");
    for (const auto &c : cases) {
        gguf::File &quantized = model_file(c.file);
        int compared = 0;
        for (const gguf::TensorInfo &t : quantized.tensors()) {
            if (t.type != c.type) continue;
            INFO(c.file << " " << t.name);
            const gguf::TensorInfo &src = source.tensor(t.name);
            REQUIRE(src.type == TensorType::F32);
            const std::vector<uint8_t> ours = quantize_rows(c.type, reinterpret_cast<const float *>(src.data),
                                                            static_cast<int64_t>(src.n_rows()), static_cast<int64_t>(src.ne[0]));
            REQUIRE(ours.size() == t.n_bytes);
            CHECK(std::memcmp(ours.data(), t.data, ours.size()) == 0);
            ++compared;
        }
        CHECK(compared >= 28);  // 4 layers x 7 matrices, plus embeddings/output
    }
}

TEST_CASE("MXFP4: llama.cpp's MXFP4_MOE experts of gpt-oss, byte for byte, and their exact values") {
    const std::unique_ptr<gguf::File> f16 = gguf::File::open(test::shared_path("archs/models/gpt-oss-F16.gguf"));
    const std::unique_ptr<gguf::File> mx = gguf::File::open(test::shared_path("archs/models/gpt-oss-MXFP4.gguf"));
    int compared = 0;
    for (const gguf::TensorInfo &t : mx->tensors()) {
        if (t.type != TensorType::MXFP4) continue;
        INFO(t.name);
        const gguf::TensorInfo &src = f16->tensor(t.name);
        REQUIRE(src.type == TensorType::F16);
        const int64_t n_rows = static_cast<int64_t>(src.n_rows()), n = static_cast<int64_t>(src.ne[0]);
        const std::vector<float> values = dequantize(TensorType::F16, src.data, n_rows * n);
        const std::vector<uint8_t> ours = quantize_rows(TensorType::MXFP4, values.data(), n_rows, n);
        REQUIRE(ours.size() == t.n_bytes);
        CHECK(std::memcmp(ours.data(), t.data, ours.size()) == 0);
        // Every value is a code times a power of two: the dequantized row re-quantizes to itself.
        const std::vector<float> back = dequantize(TensorType::MXFP4, t.data, n_rows * n);
        CHECK(quantize_rows(TensorType::MXFP4, back.data(), n_rows, n) == std::vector<uint8_t>(t.data, t.data + t.n_bytes));
        ++compared;
    }
    CHECK(compared == 9);  // 3 layers x gate, up, down experts
    // The exponent's scale at the ends of its range and in between.
    CHECK(cpu::e8m0_to_fp32_half(0) == std::ldexp(1.0f, -128));
    CHECK(cpu::e8m0_to_fp32_half(1) == std::ldexp(1.0f, -127));
    CHECK(cpu::e8m0_to_fp32_half(127) == 0.5f);
    CHECK(cpu::e8m0_to_fp32_half(254) == std::ldexp(1.0f, 126));
}

TEST_CASE("K-quant and IQ4 quantizers are at least as accurate as llama.cpp") {
    std::printf("%-8s %-22s %12s %12s %8s\n", "type", "tensor", "ember_rmse", "llama_rmse", "ratio");
    for (const auto &[file_type, tensors] : reference()["types"].items()) {
        for (const auto &[tensor, entry] : tensors.items()) {
            TensorType type;
            REQUIRE(tensor_type_from_name(entry["ggml_type"].get<std::string>(), &type));
            const bool searched = tensor_type_info(type).block_size == 256 || type == TensorType::IQ4_NL;
            if (!searched) continue;  // float and legacy types: checked bit/byte for bit/byte
            INFO(file_type << " " << tensor);
            int64_t n = 0;
            const float *src = source_tensor(tensor, &n);
            const int64_t n_per_row = entry["shape_ne"][0].get<int64_t>();
            const std::vector<uint8_t> q = quantize_rows(type, src, n / n_per_row, n_per_row);
            const std::vector<float> back = dequantize(type, q.data(), n);
            const double ours = rmse(back.data(), src, n);
            const double theirs = entry["rmse_vs_f32_source"].get<double>();
            std::printf("%-8s %-22s %12.6g %12.6g %8.4f\n", tensor_type_name(type), tensor.c_str(), ours, theirs, ours / theirs);
            CHECK(ours <= theirs);
        }
    }
}

TEST_CASE("quantizers honour an importance vector") {
    // Columns weighted 100x must come out more accurate than with uniform weights.
    const int64_t n = 512;
    const std::vector<float> x = random_floats(n, 7);
    std::vector<float> importance(n, 1.0f);
    for (int64_t i = 0; i < n; i += 5) importance[static_cast<size_t>(i)] = 100.0f;
    for (TensorType type : {TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
                            TensorType::IQ4_NL, TensorType::IQ4_XS}) {
        INFO(tensor_type_name(type));
        const TypeTraits *tt = cpu::type_traits(type);
        std::vector<uint8_t> plain(row_bytes(type, n)), weighted(row_bytes(type, n));
        tt->quantize_row(x.data(), plain.data(), n, nullptr);
        tt->quantize_row(x.data(), weighted.data(), n, importance.data());
        const std::vector<float> a = dequantize(type, plain.data(), n), b = dequantize(type, weighted.data(), n);
        double err_plain = 0.0, err_weighted = 0.0;
        for (int64_t i = 0; i < n; i += 5) {
            err_plain += std::pow(a[static_cast<size_t>(i)] - x[static_cast<size_t>(i)], 2.0);
            err_weighted += std::pow(b[static_cast<size_t>(i)] - x[static_cast<size_t>(i)], 2.0);
        }
        CHECK(err_weighted < err_plain);
    }
}

TEST_CASE("every dot product equals the float dot of the dequantized operands") {
    const int64_t n = 1024;
    for (TensorType type : kWeightTypes) {
        INFO(tensor_type_name(type));
        const TypeTraits *tt = cpu::type_traits(type);
        const TypeTraits *act = cpu::type_traits(tt->vec_dot_type);
        for (uint32_t seed = 1; seed <= 4; ++seed) {
            // Mixed magnitudes per block, and one block with an all-positive offset (mins).
            std::vector<float> w = random_floats(n, seed, 0.02f * static_cast<float>(seed));
            std::vector<float> a = random_floats(n, seed + 100, 3.0f);
            for (int64_t i = 256; i < 512; ++i) w[static_cast<size_t>(i)] = std::fabs(w[static_cast<size_t>(i)]) + 0.01f;
            std::vector<uint8_t> wq(row_bytes(type, n)), aq(row_bytes(tt->vec_dot_type, n));
            tt->quantize_row(w.data(), wq.data(), n, nullptr);
            act->quantize_row(a.data(), aq.data(), n, nullptr);
            const std::vector<float> wd = dequantize(type, wq.data(), n);
            const std::vector<float> ad = dequantize(tt->vec_dot_type, aq.data(), n);
            double expected, magnitude;
            reference_dot(type, wq.data(), aq.data(), wd, ad, &expected, &magnitude);
            float got = 0.0f;
            tt->vec_dot(n, &got, wq.data(), aq.data());
            CHECK(std::fabs(got - expected) <= 1e-5 * magnitude);
        }
    }
}

TEST_CASE("dot products on llama.cpp's own blocks") {
    // Rows straight from the files, so the dots see block patterns our quantizers never make.
    const char *files[] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q4_K_S",
                           "Q5_K_S", "Q6_K", "IQ4_NL", "IQ4_XS", "F16", "BF16"};
    const std::vector<float> a = random_floats(768, 11);
    for (const char *f : files) {
        const gguf::TensorInfo &t = model_file(std::string("small-llama-pure-") + f + ".gguf").tensor("blk.1.ffn_down.weight");
        INFO(f);
        const TypeTraits *tt = cpu::type_traits(t.type);
        const int64_t n = static_cast<int64_t>(t.ne[0]);
        std::vector<uint8_t> aq(row_bytes(tt->vec_dot_type, n));
        cpu::type_traits(tt->vec_dot_type)->quantize_row(a.data(), aq.data(), n, nullptr);
        const std::vector<float> ad = dequantize(tt->vec_dot_type, aq.data(), n);
        for (uint64_t r = 0; r < t.n_rows(); r += 37) {
            const uint8_t *row = t.data + r * t.row_bytes();
            const std::vector<float> wd = dequantize(t.type, row, n);
            double expected, magnitude;
            reference_dot(t.type, row, aq.data(), wd, ad, &expected, &magnitude);
            float got = 0.0f;
            tt->vec_dot(n, &got, row, aq.data());
            CHECK(std::fabs(got - expected) <= 1e-5 * magnitude);
        }
    }
}

TEST_CASE("activation quantizers round like llama.cpp's reference") {
    SECTION("Q8_0: d = amax/127 as half, q = round half away from zero of x/d") {
        float x[32] = {};
        x[0] = 127.0f;
        x[1] = -63.5f;  // exactly half a step: away from zero
        x[2] = 0.5f;
        cpu::block_q8_0 b;
        cpu::quantize_row_q8_0(x, &b, 32, nullptr);
        CHECK(fp16_to_fp32(b.d) == 1.0f);
        CHECK(b.qs[0] == 127);
        CHECK(b.qs[1] == -64);
        CHECK(b.qs[2] == 1);
        CHECK(b.qs[3] == 0);
    }
    SECTION("Q8_1: s = d * sum(q)") {
        const std::vector<float> x = random_floats(32, 3);
        cpu::block_q8_1 b;
        cpu::quantize_row_q8_1(x.data(), &b, 32, nullptr);
        int sum = 0;
        for (int8_t q : b.qs) sum += q;
        CHECK(std::fabs(fp16_to_fp32(b.s) - fp16_to_fp32(b.d) * static_cast<float>(sum)) <= 1e-3f * std::fabs(fp16_to_fp32(b.s)) + 1e-6f);
    }
    SECTION("Q8_K: float d = max/-127, the extreme maps to -127, ties to even, bsums") {
        std::vector<float> x(256, 0.0f);
        x[5] = 2.54f;      // the extreme: code -127
        x[6] = -2.54f;     // the opposite extreme: +127
        x[7] = 0.03f;      // 1.5 codes: rounds to the even -2
        x[8] = 0.05f;      // 2.5 codes: rounds to the even -2
        cpu::block_q8_K b;
        cpu::quantize_row_q8_k(x.data(), &b, 256, nullptr);
        CHECK(b.d == 1.0f / (-127.0f / 2.54f));
        CHECK(b.qs[5] == -127);
        CHECK(b.qs[6] == 127);
        CHECK(b.qs[7] == static_cast<int8_t>(std::nearbyint(-127.0f / 2.54f * 0.03f)));
        CHECK(b.qs[8] == static_cast<int8_t>(std::nearbyint(-127.0f / 2.54f * 0.05f)));
        CHECK(b.bsums[0] == b.qs[5] + b.qs[6] + b.qs[7] + b.qs[8]);
        for (int j = 1; j < 16; ++j) CHECK(b.bsums[j] == 0);
    }
}

TEST_CASE("F16 and BF16 round trips") {
    const std::vector<float> x = random_floats(4096, 5, 10.0f);
    for (TensorType type : {TensorType::F16, TensorType::BF16}) {
        INFO(tensor_type_name(type));
        const TypeTraits *tt = cpu::type_traits(type);
        std::vector<uint16_t> h(x.size());
        tt->quantize_row(x.data(), h.data(), static_cast<int64_t>(x.size()), nullptr);
        const std::vector<float> back = dequantize(type, h.data(), static_cast<int64_t>(x.size()));
        const float rel = type == TensorType::F16 ? 1.0f / 2048.0f : 1.0f / 256.0f;  // half an ulp
        for (size_t i = 0; i < x.size(); ++i) REQUIRE(std::fabs(back[i] - x[i]) <= rel * std::fabs(x[i]));
        // Values already representable survive exactly.
        std::vector<uint16_t> h2(x.size());
        tt->quantize_row(back.data(), h2.data(), static_cast<int64_t>(x.size()), nullptr);
        CHECK(h2 == h);
    }
}
