// The loader against the architecture's tensor table: a missing or misshapen tensor is an
// error naming the file, the tensor and what was expected; optional tensors may be absent.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"
#include "gguf/gguf_writer.h"
#include "model/hparams.h"
#include "model/weights.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

// A copy of a shared model in memory, with `edit` deciding for each tensor what is written
// in its place (return false to drop it).
using Edit = std::function<bool(const gguf::TensorInfo &t, gguf::Writer &w)>;

std::vector<uint8_t> edited(const std::string &model, const Edit &edit) {
    auto f = gguf::File::open(test::shared_path("models/" + model));
    gguf::Writer w;
    for (const auto &[key, value] : f->metadata()) w.set_value(key, value);
    for (const gguf::TensorInfo &t : f->tensors())
        if (edit(t, w)) w.add_tensor(t);
    return w.write_buffer();
}

// The error loading `bytes` gives ("" when it loads).
std::string load_error(const std::vector<uint8_t> &bytes) {
    try {
        auto files = gguf::ShardedModel::from_buffer(bytes.data(), bytes.size(), "edited.gguf");
        const model::Hparams hp = model::read_hparams(files->metadata());
        auto cpu = backend::create_cpu_backend();
        model::load_weights(*files, hp, place_layers(hp.n_layer, 0, false), {cpu.get()});
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

Edit drop(const std::string &name) {
    return [name](const gguf::TensorInfo &t, gguf::Writer &) { return std::string(t.name) != name; };
}

// Replaces tensor `name` by an F32 tensor of zeros of shape `ne`.
Edit reshape(const std::string &name, std::vector<uint64_t> ne) {
    return [name, ne](const gguf::TensorInfo &t, gguf::Writer &w) {
        if (std::string(t.name) != name) return true;
        uint64_t n = 1;
        for (uint64_t d : ne) n *= d;
        w.add_tensor(name, TensorType::F32, ne, [n](uint8_t *dst, uint64_t bytes) {
            REQUIRE(bytes == n * sizeof(float));
            std::fill(dst, dst + bytes, uint8_t{0});
        });
        return false;
    };
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("an unedited copy loads", "[weights]") {
    CHECK(load_error(edited("stories260K.gguf", [](const gguf::TensorInfo &, gguf::Writer &) { return true; })) == "");
}

TEST_CASE("a missing tensor is named with its expected shape and the architecture", "[weights]") {
    // stories260K: n_embd 64, n_ff 172, 5 layers.
    const std::string e = load_error(edited("stories260K.gguf", drop("blk.2.ffn_down.weight")));
    CHECK(contains(e, "edited.gguf"));
    CHECK(contains(e, "missing tensor 'blk.2.ffn_down.weight'"));
    CHECK(contains(e, "[172, 64]"));
    CHECK(contains(e, "llama"));

    CHECK(contains(load_error(edited("stories260K.gguf", drop("output_norm.weight"))), "missing tensor 'output_norm.weight' ([64]"));
    CHECK(contains(load_error(edited("stories260K.gguf", drop("token_embd.weight"))), "'token_embd.weight'"));

    // qwen2's attention biases are required by its module (llama's are optional).
    const std::string bias = load_error(edited("micro-qwen2-F16.gguf", drop("blk.0.attn_k.bias")));
    CHECK(contains(bias, "missing tensor 'blk.0.attn_k.bias'"));
    CHECK(contains(bias, "qwen2"));
}

TEST_CASE("a misshapen tensor is named with its shape and the expected one", "[weights]") {
    const std::string e = load_error(edited("stories260K.gguf", reshape("blk.0.attn_q.weight", {64, 32})));
    CHECK(contains(e, "tensor 'blk.0.attn_q.weight' has shape [64, 32, 1, 1], expected [64, 64]"));

    const std::string v = load_error(edited("stories260K.gguf", reshape("blk.4.attn_norm.weight", {63})));
    CHECK(contains(v, "tensor 'blk.4.attn_norm.weight' has shape [63, 1, 1, 1], expected [64]"));

    const std::string m = load_error(edited("stories260K.gguf", reshape("blk.1.ffn_up.weight", {64, 172, 2})));
    CHECK(contains(m, "'blk.1.ffn_up.weight' has shape [64, 172, 2, 1], expected [64, 172]"));
}

TEST_CASE("a missing output head falls back to the token embedding (tied weights)", "[weights]") {
    CHECK(load_error(edited("stories260K.gguf", drop("output.weight"))) == "");
    // ... and when the stand-in has the wrong shape, both are named.
    const std::vector<uint8_t> bad = edited("stories260K.gguf", [](const gguf::TensorInfo &t, gguf::Writer &w) {
        if (std::string(t.name) == "output.weight") return false;
        return reshape("token_embd.weight", {64, 511})(t, w);
    });
    const std::string e = load_error(bad);
    CHECK(contains(e, "token_embd.weight"));
    CHECK(contains(e, "[64, 511"));
}
