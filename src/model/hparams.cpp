#include "model/hparams.h"

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace ember::model {

namespace {

[[noreturn]] void bad(const gguf::File &f, ember_status status, const std::string &what) {
    fail(status, f.name() + ": " + what);
}

uint32_t required_u32(const gguf::File &f, const std::string &key) {
    if (!f.has(key)) bad(f, EMBER_ERR_BAD_FORMAT, "missing required metadata key '" + key + "'");
    const uint32_t v = f.get_u32(key);
    if (v == 0) bad(f, EMBER_ERR_BAD_FORMAT, "metadata key '" + key + "' is 0");
    return v;
}

}  // namespace

Hparams read_hparams(const gguf::File &f) {
    Hparams hp;
    if (!f.has("general.architecture")) bad(f, EMBER_ERR_BAD_FORMAT, "missing required metadata key 'general.architecture'");
    hp.arch_name = f.get_string("general.architecture");
    if (hp.arch_name == "llama") {
        hp.arch = Arch::Llama;
        hp.rope_kind = RopeKind::Interleaved;
    } else if (hp.arch_name == "qwen2") {
        hp.arch = Arch::Qwen2;
        hp.rope_kind = RopeKind::Neox;
    } else {
        bad(f, EMBER_ERR_UNSUPPORTED, "unsupported architecture '" + hp.arch_name + "' (supported: llama, qwen2)");
    }
    const std::string p = hp.arch_name + ".";

    hp.n_ctx_train = required_u32(f, p + "context_length");
    hp.n_embd = required_u32(f, p + "embedding_length");
    hp.n_layer = required_u32(f, p + "block_count");
    hp.n_ff = required_u32(f, p + "feed_forward_length");
    hp.n_head = required_u32(f, p + "attention.head_count");
    hp.n_head_kv = f.get_u32_or(p + "attention.head_count_kv", hp.n_head);
    if (!f.has(p + "attention.layer_norm_rms_epsilon"))
        bad(f, EMBER_ERR_BAD_FORMAT, "missing required metadata key '" + p + "attention.layer_norm_rms_epsilon'");
    hp.norm_eps = f.get_f32(p + "attention.layer_norm_rms_epsilon");

    if (hp.n_head_kv == 0 || hp.n_head % hp.n_head_kv != 0)
        bad(f, EMBER_ERR_BAD_FORMAT, "attention.head_count " + std::to_string(hp.n_head) +
                                         " is not a multiple of attention.head_count_kv " + std::to_string(hp.n_head_kv));
    if (hp.n_embd % hp.n_head != 0 && !f.has(p + "attention.key_length"))
        bad(f, EMBER_ERR_BAD_FORMAT, "embedding_length " + std::to_string(hp.n_embd) +
                                         " is not a multiple of attention.head_count " + std::to_string(hp.n_head));
    hp.head_dim = f.get_u32_or(p + "attention.key_length", hp.n_embd / hp.n_head);
    const uint32_t v_dim = f.get_u32_or(p + "attention.value_length", hp.head_dim);
    if (v_dim != hp.head_dim)
        bad(f, EMBER_ERR_UNSUPPORTED, "attention.key_length " + std::to_string(hp.head_dim) +
                                          " differs from attention.value_length " + std::to_string(v_dim));
    hp.n_rot = f.get_u32_or(p + "rope.dimension_count", hp.head_dim);
    if (hp.n_rot > hp.head_dim || hp.n_rot % 2)
        bad(f, EMBER_ERR_BAD_FORMAT, "rope.dimension_count " + std::to_string(hp.n_rot) + " does not fit head size " +
                                         std::to_string(hp.head_dim));
    hp.rope_freq_base = f.get_f32_or(p + "rope.freq_base", 10000.0f);

    // Linear RoPE scaling stretches positions by 1/factor. The old key scale_linear says the
    // same thing; the newer scaling.type/factor pair wins when both are present.
    if (f.has(p + "rope.scale_linear")) {
        const float factor = f.get_f32(p + "rope.scale_linear");
        if (factor > 0.0f) hp.rope_freq_scale = 1.0f / factor;
    }
    const std::string scaling = f.get_string_or(p + "rope.scaling.type", "none");
    if (scaling == "linear") {
        const float factor = f.get_f32_or(p + "rope.scaling.factor", 0.0f);
        if (factor > 0.0f) hp.rope_freq_scale = 1.0f / factor;
    } else if (scaling != "none") {
        bad(f, EMBER_ERR_UNSUPPORTED, "rope scaling type '" + scaling + "' (" + p + "rope.scaling.type) is not supported");
    }

    // The vocabulary size is the tokenizer's, else the embedding table's row count.
    if (f.has(p + "vocab_size")) {
        hp.n_vocab = f.get_u32(p + "vocab_size");
    } else if (f.has("tokenizer.ggml.tokens")) {
        hp.n_vocab = static_cast<uint32_t>(f.get_array("tokenizer.ggml.tokens").count);
    } else if (const gguf::TensorInfo *t = f.find_tensor("token_embd.weight")) {
        hp.n_vocab = static_cast<uint32_t>(t->ne[1]);
    }
    if (hp.n_vocab == 0) bad(f, EMBER_ERR_BAD_FORMAT, "cannot tell the vocabulary size");
    return hp;
}

}  // namespace ember::model
