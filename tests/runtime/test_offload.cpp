// The offload path on the cpu-copy test device (EMBER_TEST_DEVICE=cpu-copy): any split of the
// layers gives logits bit-identical to the plain CPU run, KV editing and state work across the
// split, only the designed bytes cross the boundary, and the memory estimate equals what a
// session allocates on each side.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/memory_estimate.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "support/test_paths.h"

using namespace ember;
using backend::Traffic;

namespace {

std::vector<int32_t> prompt_tokens(const Model &m, const std::string &prompt_file) {
    const std::vector<uint8_t> bytes = test::read_file_bytes(test::shared_path("conformance/prompts/" + prompt_file));
    std::string text(bytes.begin(), bytes.end());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return m.require_vocab().tokenize(text, true, false);
}

// Logits of every prompt position, then of 3 greedy-free decode steps (fixed tokens).
std::vector<float> run(const Model &m, const std::vector<int32_t> &tokens) {
    SessionParams sp;
    sp.n_ctx = static_cast<uint32_t>(tokens.size() + 4);
    sp.n_threads = 2;
    Session s(m, sp);
    REQUIRE(s.decode(Batch::sequence(tokens, 0, 0, true)) == EMBER_OK);
    const size_t nv = m.n_vocab();
    std::vector<float> out;
    for (size_t t = 0; t < tokens.size(); ++t) out.insert(out.end(), s.logits(static_cast<int32_t>(t)), s.logits(static_cast<int32_t>(t)) + nv);
    for (int i = 0; i < 3; ++i) {
        Batch b;
        b.add(tokens[static_cast<size_t>(i)], static_cast<int32_t>(tokens.size()) + i, 0, true);
        REQUIRE(s.decode(b) == EMBER_OK);
        out.insert(out.end(), s.logits(0), s.logits(0) + nv);
    }
    return out;
}

std::unique_ptr<Model> load(const std::string &path, int32_t ngl) {
    ModelParams mp;
    mp.n_gpu_layers = ngl;
    return Model::load(path, mp);
}

// The models of ../shared/models and ../shared/archs/models.
std::vector<std::string> shared_models() {
    std::vector<std::string> out;
    for (const char *sub : {"models", "archs/models"}) {
        const std::string dir = test::shared_path(sub);
        if (DIR *d = opendir(dir.c_str())) {
            while (dirent *e = readdir(d)) {
                const std::string n = e->d_name;
                if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") out.push_back(dir + "/" + n);
            }
            closedir(d);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

struct TestDevice {
    TestDevice() { setenv("EMBER_TEST_DEVICE", "cpu-copy", 1); }
    ~TestDevice() { unsetenv("EMBER_TEST_DEVICE"); }
};

}  // namespace

TEST_CASE("every split of every shared model gives the CPU run's logits bit for bit", "[offload]") {
    TestDevice device;
    const std::vector<std::string> models = shared_models();
    REQUIRE(models.size() >= 34);
    for (const std::string &path : models) {
        auto cpu = Model::load(path);
        const int32_t n = static_cast<int32_t>(cpu->n_layer());
        for (const char *prompt : {"short.txt", "long.txt"}) {
            const std::vector<int32_t> tokens = prompt_tokens(*cpu, prompt);
            const std::vector<float> ref = run(*cpu, tokens);
            for (int32_t ngl : {0, 1, n / 2, n - 1, n, -1}) {
                INFO(path << " " << prompt << " -ngl " << ngl);
                auto split = load(path, ngl);
                CHECK((split->device() != nullptr) == (ngl != 0));
                const std::vector<float> got = run(*split, tokens);
                REQUIRE(got.size() == ref.size());
                CHECK(std::memcmp(got.data(), ref.data(), ref.size() * sizeof(float)) == 0);
            }
        }
    }
}

TEST_CASE("only the residual stream, the inputs and the outputs cross the boundary", "[offload]") {
    TestDevice device;
    const std::string path = test::shared_path("models/stories260K.gguf");
    const int64_t n = 12, n_ub = 5;  // three micro-batches: 5 + 5 + 2 tokens
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = static_cast<int32_t>(1 + i * 37 % 500);
    for (int32_t ngl : {1, 5, -1}) {
        INFO("-ngl " << ngl);
        auto m = load(path, ngl);
        const int64_t n_embd = m->n_embd(), n_vocab = m->n_vocab();
        SessionParams sp;
        sp.n_ctx = 32;
        sp.n_ubatch = static_cast<uint32_t>(n_ub);
        Session s(*m, sp);
        backend::Backend &dev = *m->device();
        dev.reset_traffic();
        REQUIRE(s.decode(Batch::sequence(tokens, 0, 0)) == EMBER_OK);  // output for the last row
        const backend::TrafficCounters &t = *dev.traffic();
        // Per micro-batch of u tokens attending over n_kv cells: positions, cells and the mask
        // go in; with the head on the device also the token ids and (last batch) the output row.
        uint64_t inputs = 0;
        int64_t n_kv = 0;
        for (int64_t start = 0; start < n; start += n_ub) {
            const int64_t u = std::min(n_ub, n - start);
            n_kv = start + u;
            inputs += 4 * u * (2 + n_kv);
            if (ngl < 0) inputs += 4 * u + 4;  // tokens, and the one output row selected
        }
        CHECK(t.bytes_in(Traffic::Inputs) == inputs);
        if (ngl < 0) {
            CHECK(t.bytes_in(Traffic::Activations) == 0);
            CHECK(t.bytes_out(Traffic::Activations) == 0);
            CHECK(t.bytes_out(Traffic::Outputs) == static_cast<uint64_t>(4 * n_vocab));
        } else {  // the residual stream in and back once per micro-batch
            CHECK(t.bytes_in(Traffic::Activations) == static_cast<uint64_t>(4 * n * n_embd));
            CHECK(t.bytes_out(Traffic::Activations) == static_cast<uint64_t>(4 * n * n_embd));
            CHECK(t.bytes_out(Traffic::Outputs) == 0);
        }
        CHECK(t.bytes_in(Traffic::Weights) == 0);  // uploaded once, at load
        CHECK(t.bytes_out(Traffic::Weights) == 0);
    }
}

TEST_CASE("offloaded weights are uploaded once at load, reported tensor by tensor", "[offload]") {
    TestDevice device;
    const std::string path = test::shared_path("models/stories260K.gguf");
    std::vector<float> seen;
    ModelParams mp;
    mp.n_gpu_layers = -1;
    mp.progress = [&](float f) {
        seen.push_back(f);
        return true;
    };
    auto m = Model::load(path, mp);
    CHECK(seen.size() == m->files().tensors().size());  // every tensor is a layer's, the embedding or the head
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.back() == 1.0f);
    const uint64_t uploaded = m->device()->traffic()->bytes_in(Traffic::Weights);
    CHECK(uploaded == m->size_bytes());
    CHECK(m->weights().bytes.at(kDeviceBackend) >= uploaded);  // padded to the buffer alignment

    // Cancelled half way: an ABORTED error, and what was allocated is freed (the sanitizer
    // build would report a leak).
    int calls = 0;
    mp.progress = [&](float) { return ++calls < 20; };
    try {
        Model::load(path, mp);
        FAIL("the load was not cancelled");
    } catch (const Error &e) {
        CHECK(e.status() == EMBER_ERR_ABORTED);
        CHECK(std::string(e.what()).find("cancelled") != std::string::npos);
    }
    CHECK(calls == 20);
}

TEST_CASE("sequences, KV editing and state work across the split", "[offload]") {
    TestDevice device;
    const std::string path = test::shared_path("models/tiny-stories-F16.gguf");
    auto script = [](const Model &m) {
        SessionParams sp;
        sp.n_ctx = 64;
        sp.n_seq_max = 3;
        Session s(m, sp);
        std::vector<float> out;
        auto keep = [&](int32_t row) { out.insert(out.end(), s.logits(row), s.logits(row) + m.n_vocab()); };
        Batch b;  // two sequences interleaved in one batch
        for (int32_t i = 0; i < 6; ++i) b.add(1 + i * 11, i / 2, i % 2, true);
        REQUIRE(s.decode(b) == EMBER_OK);
        for (int32_t r = 0; r < 6; ++r) keep(r);
        s.seq_cp(0, 2, 0, -1);
        s.seq_rm(1, 2, -1);
        Batch c;
        c.add(40, 3, 0, true);
        c.add(41, 2, 1, true);
        c.add(42, 3, 2, true);
        REQUIRE(s.decode(c) == EMBER_OK);
        for (int32_t r = 0; r < 3; ++r) keep(r);
        const std::vector<uint8_t> state = s.save_state();
        s.seq_keep(2);
        Batch d;
        d.add(43, 4, 2, true);
        REQUIRE(s.decode(d) == EMBER_OK);
        keep(0);
        s.load_state(state.data(), state.size());
        Batch e;
        e.add(44, 4, 0, true);
        e.add(45, 3, 1, true);
        REQUIRE(s.decode(e) == EMBER_OK);
        keep(0);
        keep(1);
        return out;
    };
    auto cpu = Model::load(path);
    const std::vector<float> ref = script(*cpu);
    for (int32_t ngl : {1, 4, 8, -1}) {
        INFO("-ngl " << ngl);
        auto m = load(path, ngl);
        const std::vector<float> got = script(*m);
        REQUIRE(got.size() == ref.size());
        CHECK(std::memcmp(got.data(), ref.data(), ref.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("with sliding-window layers too: the estimate equals the allocation on each side", "[offload][memory]") {
    TestDevice device;
    // n_ctx 96, micro-batches of 32: the window cache has 16 + 32 cells. The prompt's last
    // micro-batch fills the context with every row's logits, the case the estimate describes.
    for (const char *name : {"archs/models/gemma3-F32.gguf", "archs/models/gpt-oss-MXFP4.gguf"}) {
        const std::string path = test::shared_path(name);
        for (int32_t ngl : {0, 1, -1}) {
            INFO(name << " -ngl " << ngl);
            auto m = load(path, ngl);
            MemoryEstimateParams ep;
            ep.n_ctx = 96;
            ep.n_batch = 32;
            ep.n_gpu_layers = ngl;
            const MemoryEstimate e = estimate_memory(m->files(), ep);
            SessionParams sp;
            sp.n_ctx = 96;
            sp.n_ubatch = 32;
            Session s(*m, sp);
            REQUIRE(s.kv_cache_swa() != nullptr);
            CHECK(s.kv_cache_swa()->n_cells() == 48);
            std::vector<int32_t> prompt(96);
            for (uint32_t i = 0; i < 96; ++i) prompt[i] = static_cast<int32_t>(1 + i * 7919u % (m->n_vocab() - 1));
            REQUIRE(s.decode(Batch::sequence({prompt.begin(), prompt.begin() + 64}, 0, 0, false)) == EMBER_OK);
            REQUIRE(s.decode(Batch::sequence({prompt.begin() + 64, prompt.end()}, 64, 0, true)) == EMBER_OK);
            CHECK(m->weights().bytes.at(kCpuBackend) == e.weights_cpu);
            CHECK(s.kv_bytes_on(*m->backends()[kCpuBackend]) == e.kv_cpu);
            CHECK(s.compute_bytes(kCpuBackend) == e.compute_cpu);
            if (m->device()) {
                CHECK(s.kv_bytes_on(*m->device()) == e.kv_gpu);
                CHECK(s.compute_bytes(kDeviceBackend) == e.compute_gpu);
            }
        }
    }
}

TEST_CASE("the memory estimate equals what a session allocates on each side of the split", "[offload][memory]") {
    TestDevice device;
    for (const char *name : {"models/stories260K.gguf", "models/tiny-stories-F16.gguf"}) {
        const std::string path = test::shared_path(name);
        for (int32_t ngl : {0, 1, 3, 99, -1}) {
            INFO(name << " -ngl " << ngl);
            auto m = load(path, ngl);
            const uint32_t n_ctx = 96;
            MemoryEstimateParams ep;
            ep.n_ctx = n_ctx;
            ep.n_gpu_layers = ngl;
            const MemoryEstimate e = estimate_memory(m->files(), ep);
            REQUIRE(e.has_hparams);
            SessionParams sp;
            sp.n_ctx = n_ctx;
            Session s(*m, sp);
            std::vector<int32_t> prompt(n_ctx);
            for (uint32_t i = 0; i < n_ctx; ++i) prompt[i] = static_cast<int32_t>(1 + i * 7919u % (m->n_vocab() - 1));
            REQUIRE(s.decode(Batch::sequence(prompt, 0, 0, true)) == EMBER_OK);
            CHECK(m->weights().bytes.at(kCpuBackend) == e.weights_cpu);
            CHECK(s.kv_bytes_on(*m->backends()[kCpuBackend]) == e.kv_cpu);
            CHECK(s.compute_bytes(kCpuBackend) == e.compute_cpu);
            if (m->device()) {
                CHECK(m->weights().bytes.at(kDeviceBackend) == e.weights_gpu);
                CHECK(s.kv_bytes_on(*m->device()) == e.kv_gpu);
                CHECK(s.compute_bytes(kDeviceBackend) == e.compute_gpu);
            } else {
                CHECK(e.weights_gpu + e.kv_gpu + e.compute_gpu == 0);
            }
        }
    }
}
