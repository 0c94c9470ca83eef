// ember::quantize against llama.cpp's files: the mixed recipes choose the same per-tensor types
// as llama.cpp did for small-llama-Q*_K_M.gguf and are at least as accurate (RMS error against
// the F32 source within 2 % of llama.cpp's, tensor by tensor); --pure, overrides, fallbacks and
// the requantization guard.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor_type.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_file.h"
#include "quantize/quantize_model.h"
#include "quantize/quantize_recipe.h"
#include "support/resident.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

std::string model_path(const std::string &name) { return test::shared_path("models/" + name); }

std::vector<float> dequantize(const gguf::TensorInfo &t) {
    const cpu::TypeTraits *tt = cpu::type_traits(t.type);
    REQUIRE(tt != nullptr);
    std::vector<float> v(t.n_elements());
    const uint64_t row_bytes = t.row_bytes();
    for (uint64_t r = 0; r < t.n_rows(); ++r) {
        tt->dequantize_row(t.data + r * row_bytes, v.data() + r * t.ne[0], static_cast<int64_t>(t.ne[0]));
    }
    return v;
}

double rmse(const std::vector<float> &a, const std::vector<float> &b) {
    REQUIRE(a.size() == b.size());
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        sum += d * d;
    }
    return std::sqrt(sum / static_cast<double>(a.size()));
}

quantize::QuantizeResult quantize_to(const std::string &type, const std::string &out, bool pure = false) {
    quantize::QuantizeParams p;
    p.input = model_path("small-llama-F32.gguf");
    p.output = out;
    p.type = type;
    p.pure = pure;
    p.n_threads = 2;
    return quantize::quantize_model(p);
}

}  // namespace

TEST_CASE("recipe names and aliases", "[quantize]") {
    REQUIRE(quantize::find_recipe("q4_k_m") != nullptr);
    CHECK(quantize::find_recipe("Q4_K")->file_type == quantize::FileType::MOSTLY_Q4_K_M);
    CHECK(quantize::find_recipe("Q3_K")->file_type == quantize::FileType::MOSTLY_Q3_K_M);
    CHECK(quantize::find_recipe("Q5_K")->file_type == quantize::FileType::MOSTLY_Q5_K_M);
    CHECK(quantize::find_recipe("Q4_K_S")->base_type == TensorType::Q4_K);
    CHECK(quantize::find_recipe("F16")->file_type == quantize::FileType::MOSTLY_F16);
    CHECK(quantize::find_recipe("Q7_K") == nullptr);
    CHECK(quantize::find_recipe("") == nullptr);
}

TEST_CASE("which tensors are quantized", "[quantize]") {
    CHECK(quantize::is_quantizable("blk.3.attn_q.weight", 2));
    CHECK(quantize::is_quantizable("token_embd.weight", 2));
    CHECK_FALSE(quantize::is_quantizable("blk.3.attn_norm.weight", 1));
    CHECK_FALSE(quantize::is_quantizable("blk.3.attn_q.bias", 1));
    CHECK_FALSE(quantize::is_quantizable("rope_freqs.weight", 1));
    CHECK_FALSE(quantize::is_quantizable("blk.0.ffn_gate_inp.weight", 2));
    CHECK(quantize::block_index("blk.12.ffn_down.weight") == 12);
    CHECK(quantize::block_index("output.weight") == -1);
}

TEST_CASE("rows that do not fit 256-blocks fall back to 32-block types", "[quantize]") {
    using T = TensorType;
    CHECK(quantize::fit_row_length(T::Q4_K, 4096).type == T::Q4_K);
    CHECK_FALSE(quantize::fit_row_length(T::Q4_K, 4096).fell_back);
    CHECK(quantize::fit_row_length(T::Q4_K, 172 * 32 / 4).type == T::Q5_0);  // 1376 = 43 * 32
    CHECK(quantize::fit_row_length(T::Q5_K, 1376).type == T::Q5_1);
    CHECK(quantize::fit_row_length(T::Q6_K, 1376).type == T::Q8_0);
    CHECK(quantize::fit_row_length(T::Q3_K, 1376).type == T::IQ4_NL);
    CHECK(quantize::fit_row_length(T::Q2_K, 1376).fell_back);
    CHECK(quantize::fit_row_length(T::Q4_K, 172).type == T::F16);  // not even 32-blocks

    // The output projection goes to Q8_0 directly when its rows do not fit the recipe.
    quantize::ModelShape m;
    m.arch = "llama";
    m.has_output = true;
    const quantize::Recipe &q4km = *quantize::find_recipe("Q4_K_M");
    CHECK(quantize::choose_type(q4km, m, "output.weight", 4096, false).type == T::Q6_K);
    CHECK(quantize::choose_type(q4km, m, "output.weight", 1376, false).type == T::Q8_0);
    // A tied model: the embedding is also the output projection.
    m.has_output = false;
    CHECK(quantize::choose_type(q4km, m, "token_embd.weight", 4096, false).type == T::Q6_K);
    CHECK(quantize::choose_type(q4km, m, "token_embd.weight", 4096, true).type == T::Q4_K);

    // Eight experts (Mixtral 8x7B): attn_v and attn_k 8-bit, attn_output Q5_K, as llama.cpp.
    m.has_output = true;
    m.n_expert = 8;
    const quantize::Recipe &q4_0 = *quantize::find_recipe("Q4_0");
    CHECK(quantize::choose_type(q4km, m, "blk.3.attn_v.weight", 4096, false).type == T::Q8_0);
    CHECK(quantize::choose_type(q4_0, m, "blk.3.attn_k.weight", 4096, false).type == T::Q8_0);
    CHECK(quantize::choose_type(q4km, m, "blk.3.attn_output.weight", 4096, false).type == T::Q5_K);
    CHECK(quantize::choose_type(q4_0, m, "blk.3.attn_output.weight", 4096, false).type == T::Q4_0);
    CHECK(quantize::choose_type(q4km, m, "blk.3.ffn_gate_exps.weight", 4096, false).type == T::Q4_K);
    CHECK(quantize::choose_type(q4km, m, "blk.3.attn_v.weight", 4096, true).type == T::Q4_K);  // --pure
    m.n_expert = 64;
    CHECK(quantize::choose_type(q4_0, m, "blk.3.attn_k.weight", 4096, false).type == T::Q4_0);
    CHECK(quantize::choose_type(q4km, m, "blk.3.attn_output.weight", 4096, false).type == T::Q4_K);
}

TEST_CASE("K-quant recipes match llama.cpp's types and accuracy on small-llama", "[quantize]") {
    const std::unique_ptr<gguf::File> source = gguf::File::open(model_path("small-llama-F32.gguf"));
    const std::string dir = test::temp_dir("quantize_recipes");
    for (const char *recipe : {"Q3_K_M", "Q4_K_M", "Q5_K_M"}) {
        DYNAMIC_SECTION(recipe) {
            const std::string out = dir + "/" + recipe + ".gguf";
            quantize_to(recipe, out);
            const std::unique_ptr<gguf::File> ours = gguf::File::open(out);
            const std::unique_ptr<gguf::File> theirs =
                gguf::File::open(model_path(std::string("small-llama-") + recipe + ".gguf"));
            CHECK(ours->get_u32("general.file_type") == theirs->get_u32("general.file_type"));
            CHECK(ours->get_u32("general.quantization_version") == 2);
            CHECK(ours->get_string("general.name") == "random-llama-small");
            REQUIRE(ours->tensors().size() == theirs->tensors().size());
            double worst_ratio = 0;
            for (const gguf::TensorInfo &t : theirs->tensors()) {
                INFO(recipe << " " << t.name);
                const gguf::TensorInfo &o = ours->tensor(t.name);
                CHECK(tensor_type_name(o.type) == std::string(tensor_type_name(t.type)));
                CHECK(o.n_dims == t.n_dims);
                for (uint32_t d = 0; d < gguf::kMaxDims; ++d) CHECK(o.ne[d] == t.ne[d]);
                if (o.type != t.type) continue;
                const std::vector<float> src = dequantize(source->tensor(t.name));
                const double ours_err = rmse(dequantize(o), src);
                const double theirs_err = rmse(dequantize(t), src);
                INFO("rmse ours " << ours_err << " llama.cpp " << theirs_err);
                CHECK(ours_err <= 1.02 * theirs_err + 1e-12);
                if (theirs_err > 0) worst_ratio = std::max(worst_ratio, ours_err / theirs_err);
            }
            WARN(recipe << ": worst per-tensor RMSE ratio ours / llama.cpp = " << worst_ratio);
        }
    }
}

TEST_CASE("--pure gives every weight matrix the base type, as llama.cpp's pure files", "[quantize]") {
    const std::unique_ptr<gguf::File> source = gguf::File::open(model_path("small-llama-F32.gguf"));
    const std::pair<const char *, const char *> cases[] = {
        {"Q4_0", "Q4_0"},   {"Q8_0", "Q8_0"},     {"Q2_K", "Q2_K"},     {"Q3_K_S", "Q3_K_S"},
        {"Q4_K_S", "Q4_K_S"}, {"Q6_K", "Q6_K"},   {"IQ4_XS", "IQ4_XS"}, {"F16", "F16"},
        {"BF16", "BF16"},
    };
    for (const auto &c : cases) {
        quantize::QuantizeParams p;
        p.type = c.first;
        p.pure = true;
        const quantize::QuantizeResult plan = quantize::plan_quantization(*source, p);
        const std::unique_ptr<gguf::File> theirs =
            gguf::File::open(model_path(std::string("small-llama-pure-") + c.second + ".gguf"));
        for (const quantize::TensorPlan &t : plan.tensors) {
            INFO(c.first << " " << t.name);
            CHECK(tensor_type_name(t.to) == std::string(tensor_type_name(theirs->tensor(t.name).type)));
        }
    }

    // And written: the file holds what the plan said, and its values are close to the source.
    const std::string out = test::temp_dir("quantize_pure") + "/q8.gguf";
    quantize_to("Q8_0", out, true);
    const std::unique_ptr<gguf::File> q8 = gguf::File::open(out);
    CHECK(q8->get_u32("general.file_type") == 7);
    for (const gguf::TensorInfo &t : q8->tensors()) {
        CHECK(t.type == (t.n_dims >= 2 ? TensorType::Q8_0 : TensorType::F32));
    }
    const gguf::TensorInfo &wq = q8->tensor("blk.0.attn_q.weight");
    CHECK(rmse(dequantize(wq), dequantize(source->tensor("blk.0.attn_q.weight"))) < 1e-3);
}

TEST_CASE("overrides replace the recipe's choice for matching tensors", "[quantize]") {
    const std::unique_ptr<gguf::File> source = gguf::File::open(model_path("small-llama-F32.gguf"));
    quantize::QuantizeParams p;
    p.type = "Q4_K_M";
    p.overrides = {{"ffn_(up|gate)", TensorType::Q8_0}, {"attn_q", TensorType::Q5_0}};
    const quantize::QuantizeResult plan = quantize::plan_quantization(*source, p);
    for (const quantize::TensorPlan &t : plan.tensors) {
        INFO(t.name);
        if (t.name.find("ffn_up") != std::string::npos || t.name.find("ffn_gate") != std::string::npos) {
            CHECK(t.to == TensorType::Q8_0);
        } else if (t.name.find("attn_q") != std::string::npos) {
            CHECK(t.to == TensorType::Q5_0);
        } else if (t.name.find("norm") != std::string::npos) {
            CHECK(t.to == TensorType::F32);  // 1-D tensors are never touched
        }
    }
    p.overrides = {{"([", TensorType::Q8_0}};
    CHECK_THROWS_AS(quantize::plan_quantization(*source, p), Error);
}

TEST_CASE("already quantized input is refused unless requantizing is allowed", "[quantize]") {
    const std::unique_ptr<gguf::File> q4 = gguf::File::open(model_path("small-llama-Q4_K_M.gguf"));
    quantize::QuantizeParams p;
    p.type = "Q4_0";
    try {
        quantize::plan_quantization(*q4, p);
        FAIL("requantization was not refused");
    } catch (const Error &e) {
        CHECK(e.status() == EMBER_ERR_UNSUPPORTED);
        CHECK(std::string(e.what()).find("--allow-requantize") != std::string::npos);
    }
    p.allow_requantize = true;
    const quantize::QuantizeResult plan = quantize::plan_quantization(*q4, p);
    CHECK(plan.tensors.size() == q4->tensors().size());

    // Re-running the same recipe changes nothing, so nothing needs requantizing.
    p.allow_requantize = false;
    p.type = "Q4_K_M";
    for (const quantize::TensorPlan &t : quantize::plan_quantization(*q4, p).tensors) CHECK_FALSE(t.converted);

    p.type = "Q9_9";
    try {
        quantize::plan_quantization(*q4, p);
        FAIL("unknown type accepted");
    } catch (const Error &e) {
        CHECK(e.status() == EMBER_ERR_INVALID_ARGUMENT);
    }
}

TEST_CASE("MXFP4_MOE reproduces llama.cpp's gpt-oss file: experts MXFP4, the rest unchanged", "[quantize]") {
    quantize::QuantizeParams p;
    p.input = test::shared_path("archs/models/gpt-oss-F16.gguf");
    p.output = test::temp_dir("quantize_mxfp4") + "/gpt-oss-MXFP4.gguf";
    p.type = "MXFP4_MOE";
    quantize::quantize_model(p);
    const std::unique_ptr<gguf::File> ours = gguf::File::open(p.output);
    const std::unique_ptr<gguf::File> theirs = gguf::File::open(test::shared_path("archs/models/gpt-oss-MXFP4.gguf"));
    CHECK(ours->get_u32("general.file_type") == theirs->get_u32("general.file_type"));
    REQUIRE(ours->tensors().size() == theirs->tensors().size());
    int mxfp4 = 0;
    for (const gguf::TensorInfo &t : theirs->tensors()) {
        INFO(t.name);
        const gguf::TensorInfo &o = ours->tensor(t.name);
        CHECK(o.type == t.type);
        REQUIRE(o.n_bytes == t.n_bytes);
        CHECK(std::memcmp(o.data, t.data, t.n_bytes) == 0);
        mxfp4 += t.type == TensorType::MXFP4;
    }
    CHECK(mxfp4 == 9);
}

TEST_CASE("quantizing keeps at most about one tensor of the input resident", "[quantize]") {
    // Each tensor's input pages are dropped once it is written, so the quantizer's memory is one
    // tensor at a time, not the input file (13 MB here; a 1.1B F16 model: 2 GB).
    quantize::QuantizeParams p;
    p.input = model_path("small-llama-F32.gguf");
    p.output = test::temp_dir("quantize_rss") + "/q4km.gguf";
    p.type = "Q4_K_M";
    p.n_threads = 2;
    const std::unique_ptr<gguf::File> source = gguf::File::open(p.input);
    uint64_t largest = 0;
    for (const gguf::TensorInfo &t : source->tensors()) largest = std::max(largest, t.n_bytes);
    long long peak_kb = 0;
    size_t seen = 0;
    p.on_tensor = [&](const quantize::TensorPlan &, size_t, size_t) {
        peak_kb = std::max(peak_kb, test::mapped_resident_kb(p.input));
        ++seen;
    };
    quantize::quantize_model(p);
    REQUIRE(seen == source->tensors().size());
    if (peak_kb < 0) return;  // no /proc
    INFO("input resident at most " << peak_kb << " kB; largest tensor " << largest / 1024 << " kB, file "
                                   << source->size() / 1024 << " kB");
    // Metadata pages and partial edge pages of tensors stay (the file is 17x its largest tensor).
    CHECK(peak_kb * 1024.0 <= static_cast<double>(largest) + 1.5e6);
}
