// The bar for the forward pass: for every case of ../shared/conformance/manifest.json and
// ../shared/archs/manifest.json (the newer architectures), our logits after each prompt
// position against llama.cpp's, and for the real (trained) models the 16 greedy continuation
// tokens exactly. Run once per ISA level (EMBER_ISA, see CMakeLists).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/isa.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

struct Reference {
    std::vector<int32_t> tokens;
    int32_t n_vocab = 0;
    std::vector<float> logits;  // [n_tokens][n_vocab]
};

Reference read_reference(const std::string &path) {
    const std::vector<uint8_t> bytes = test::read_file_bytes(path);
    Reference r;
    int32_t n_tokens = 0;
    REQUIRE(bytes.size() >= 8);
    std::memcpy(&n_tokens, bytes.data(), 4);
    std::memcpy(&r.n_vocab, bytes.data() + 4, 4);
    const size_t want = 8 + 4 * static_cast<size_t>(n_tokens) * (1 + static_cast<size_t>(r.n_vocab));
    REQUIRE(bytes.size() == want);
    r.tokens.resize(static_cast<size_t>(n_tokens));
    std::memcpy(r.tokens.data(), bytes.data() + 8, r.tokens.size() * 4);
    r.logits.resize(static_cast<size_t>(n_tokens) * static_cast<size_t>(r.n_vocab));
    std::memcpy(r.logits.data(), bytes.data() + 8 + r.tokens.size() * 4, r.logits.size() * 4);
    return r;
}

// rms(ours - ref) / rms(ref) over one position's logits.
double nrmse(const float *ours, const float *ref, int32_t n) {
    double diff = 0.0, norm = 0.0;
    for (int32_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(ours[i]) - ref[i];
        diff += d * d;
        norm += static_cast<double>(ref[i]) * ref[i];
    }
    return std::sqrt(diff / norm);
}

enum class Precision { Float, BFloat, Quantized };

// How the model's matrices are stored decides the tolerance.
Precision precision_of(const Model &m) {
    Precision p = Precision::Float;
    for (const gguf::TensorInfo &t : m.file().tensors()) {
        if (t.n_dims < 2) continue;
        if (tensor_type_info(t.type).quantized) return Precision::Quantized;
        if (t.type == TensorType::BF16) p = Precision::BFloat;
    }
    return p;
}

int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

// False when EMBER_ISA names a level this build or CPU cannot run: that run has nothing to test.
bool isa_runnable() {
    const char *env = std::getenv("EMBER_ISA");
    if (!env || !*env) return true;
    cpu::IsaLevel level;
    if (!cpu::isa_from_name(env, &level)) return true;  // let the kernels report the bad name
    return cpu::isa_available(level);
}

}  // namespace

TEST_CASE("logits and greedy continuations match llama.cpp", "[conformance]") {
    if (!isa_runnable()) {
        WARN("EMBER_ISA=" << std::getenv("EMBER_ISA") << " is not available here; skipped");
        return;
    }
    const std::string isa = cpu::isa_name(cpu::active_isa_level());
    nlohmann::json cases = nlohmann::json::array();
    for (const char *path : {"conformance/manifest.json", "archs/manifest.json"}) {
        const auto manifest = nlohmann::json::parse(test::read_file_bytes(test::shared_path(path)));
        for (const auto &c : manifest["cases"]) cases.push_back(c);
    }
    // Cases share models; keep the last one loaded.
    std::string loaded_path;
    std::unique_ptr<Model> model;

    for (const auto &c : cases) {
        const std::string model_path = c["model"].get<std::string>();
        const std::string prompt = c["prompt"].get<std::string>();
        INFO("ISA " << isa << ", model " << model_path << ", prompt " << prompt);
        if (model_path != loaded_path) {
            model = Model::load(test::shared_path(model_path));
            loaded_path = model_path;
        }
        const Reference ref = read_reference(test::shared_path(c["logits"].get<std::string>()));
        const auto prompt_tokens = c["prompt_tokens"].get<std::vector<int32_t>>();
        const auto greedy = c["greedy_tokens"].get<std::vector<int32_t>>();
        REQUIRE(ref.tokens == prompt_tokens);
        {  // the tokenizer gives the same ids (prompt = file minus trailing newlines, BOS rule)
            const std::vector<uint8_t> bytes = test::read_file_bytes(test::shared_path(prompt));
            std::string text(bytes.begin(), bytes.end());
            while (!text.empty() && text.back() == '\n') text.pop_back();
            CHECK(model->require_vocab().tokenize(text, /*add_special=*/true, /*parse_special=*/false) == prompt_tokens);
        }
        REQUIRE(ref.n_vocab == static_cast<int32_t>(model->n_vocab()));

        SessionParams sp;
        // The context llama.cpp ran with where the manifest says (LongRoPE picks its factors by it).
        sp.n_ctx = c.contains("n_ctx") ? c["n_ctx"].get<uint32_t>() : static_cast<uint32_t>(prompt_tokens.size() + greedy.size());
        sp.n_threads = 2;
        // EMBER_CONFORMANCE_UBATCH=N decodes the prompt in micro-batches of N tokens.
        if (const char *ub = std::getenv("EMBER_CONFORMANCE_UBATCH")) sp.n_ubatch = static_cast<uint32_t>(std::atoi(ub));
        Session session(*model, sp);
        REQUIRE(session.decode(Batch::sequence(prompt_tokens, 0, 0, /*all_outputs=*/true)) == EMBER_OK);

        // EMBER_CONFORMANCE_VERBOSE=1 prints every position's error.
        const bool verbose = std::getenv("EMBER_CONFORMANCE_VERBOSE") != nullptr;
        double max_err = 0.0, sum_err = 0.0;
        for (size_t t = 0; t < prompt_tokens.size(); ++t) {
            const double e = nrmse(session.logits(static_cast<int32_t>(t)), ref.logits.data() + t * static_cast<size_t>(ref.n_vocab), ref.n_vocab);
            if (verbose) std::printf("  position %zu nrmse %.4f%%\n", t, 100 * e);
            max_err = std::max(max_err, e);
            sum_err += e;
        }
        const double mean_err = sum_err / static_cast<double>(prompt_tokens.size());
        const Precision precision = precision_of(*model);
        std::printf("conformance %-8s %-40s %-28s nrmse max %.4f%% mean %.4f%%", isa.c_str(), model_path.c_str(),
                    prompt.c_str(), 100 * max_err, 100 * mean_err);
        INFO("nrmse max " << 100 * max_err << "% mean " << 100 * mean_err << "%");
        switch (precision) {
            case Precision::Float: CHECK(max_err <= 0.005); break;
            case Precision::BFloat: CHECK(max_err <= 0.01); break;
            case Precision::Quantized:
                CHECK(mean_err <= 0.03);
                CHECK(max_err <= 0.05);
                break;
        }

        // Trained models must continue exactly like llama.cpp; random ones diverge at near-ties.
        if (c.contains("greedy_min_margin")) {
            std::vector<int32_t> ours;
            int32_t next = argmax(session.logits(-1), ref.n_vocab);
            for (size_t i = 0; i < greedy.size(); ++i) {
                ours.push_back(next);
                if (i + 1 == greedy.size()) break;
                Batch b;
                b.add(next, static_cast<int32_t>(prompt_tokens.size() + i), 0, true);
                REQUIRE(session.decode(b) == EMBER_OK);
                next = argmax(session.logits(0), ref.n_vocab);
            }
            std::printf("  greedy %s", ours == greedy ? "identical" : "DIFFERENT");
            CHECK(ours == greedy);
        }
        std::printf("\n");
    }
}
