// The converted stories260K-hf runs like llama.cpp's stories260K-tied: for each of that model's
// conformance cases, the prompt tokenizes to the same ids with the converted vocabulary, the
// logits after every prompt position match llama.cpp's (same tolerance as the forward-pass
// conformance test for float models) and the 16 greedy continuation tokens are identical.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/convert_hf.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

// llama.cpp's logits file: int32 n_tokens, int32 n_vocab, int32 tokens[n], float logits[n][vocab].
std::vector<float> read_logits(const std::string &path, int32_t *n_vocab) {
    const std::vector<uint8_t> bytes = test::read_file_bytes(path);
    REQUIRE(bytes.size() >= 8);
    int32_t n_tokens = 0;
    std::memcpy(&n_tokens, bytes.data(), 4);
    std::memcpy(n_vocab, bytes.data() + 4, 4);
    const size_t n_logits = static_cast<size_t>(n_tokens) * static_cast<size_t>(*n_vocab);
    REQUIRE(bytes.size() == 8 + 4 * static_cast<size_t>(n_tokens) + 4 * n_logits);
    std::vector<float> logits(n_logits);
    std::memcpy(logits.data(), bytes.data() + 8 + 4 * static_cast<size_t>(n_tokens), 4 * n_logits);
    return logits;
}

int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

}  // namespace

TEST_CASE("converted stories260K-hf reproduces llama.cpp's stories260K-tied logits and greedy ids", "[convert]") {
    convert::ConvertParams p;
    p.input_dir = test::shared_path("models/stories260K-hf");
    p.output = test::temp_dir("convert_logits") + "/stories260K.gguf";
    p.out_type = convert::OutType::F32;
    convert::convert_hf_model(p);
    const std::unique_ptr<Model> model = Model::load(p.output);

    const auto manifest = nlohmann::json::parse(test::read_file_bytes(test::shared_path("conformance/manifest.json")));
    int n_cases = 0;
    for (const auto &c : manifest["cases"]) {
        if (c["model"].get<std::string>() != "models/stories260K-tied.gguf") continue;
        ++n_cases;
        const std::string prompt_path = c["prompt"].get<std::string>();
        INFO(prompt_path);
        const auto prompt_tokens = c["prompt_tokens"].get<std::vector<int32_t>>();
        const auto greedy = c["greedy_tokens"].get<std::vector<int32_t>>();

        const std::vector<uint8_t> bytes = test::read_file_bytes(test::shared_path(prompt_path));
        std::string text(bytes.begin(), bytes.end());
        while (!text.empty() && text.back() == '\n') text.pop_back();
        CHECK(model->require_vocab().tokenize(text, /*add_special=*/true, /*parse_special=*/false) == prompt_tokens);

        int32_t n_vocab = 0;
        const std::vector<float> ref = read_logits(test::shared_path(c["logits"].get<std::string>()), &n_vocab);
        REQUIRE(n_vocab == static_cast<int32_t>(model->n_vocab()));

        SessionParams sp;
        sp.n_ctx = static_cast<uint32_t>(prompt_tokens.size() + greedy.size());
        sp.n_threads = 2;
        Session session(*model, sp);
        REQUIRE(session.decode(Batch::sequence(prompt_tokens, 0, 0, /*all_outputs=*/true)) == EMBER_OK);
        double max_err = 0.0;
        for (size_t t = 0; t < prompt_tokens.size(); ++t) {
            const float *ours = session.logits(static_cast<int32_t>(t));
            const float *theirs = ref.data() + t * static_cast<size_t>(n_vocab);
            double diff = 0.0, norm = 0.0;
            for (int32_t i = 0; i < n_vocab; ++i) {
                diff += (static_cast<double>(ours[i]) - theirs[i]) * (static_cast<double>(ours[i]) - theirs[i]);
                norm += static_cast<double>(theirs[i]) * theirs[i];
            }
            max_err = std::max(max_err, std::sqrt(diff / norm));
        }
        INFO("max nrmse " << 100 * max_err << "%");
        CHECK(max_err <= 0.005);

        std::vector<int32_t> ours;
        int32_t next = argmax(session.logits(-1), n_vocab);
        for (size_t i = 0; i < greedy.size(); ++i) {
            ours.push_back(next);
            if (i + 1 == greedy.size()) break;
            Batch b;
            b.add(next, static_cast<int32_t>(prompt_tokens.size() + i), 0, true);
            REQUIRE(session.decode(b) == EMBER_OK);
            next = argmax(session.logits(0), n_vocab);
        }
        CHECK(ours == greedy);
    }
    CHECK(n_cases == 2);
}
