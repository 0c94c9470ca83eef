#include "model/hparams.h"

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "model/architecture.h"

namespace ember::model {

HparamKey required(const char *key, uint32_t Hparams::*field) {
    HparamKey k{key};
    k.u32 = field;
    return k;
}

HparamKey required(const char *key, float Hparams::*field) {
    HparamKey k{key};
    k.f32 = field;
    return k;
}

HparamKey or_constant(const char *key, float Hparams::*field, double value) {
    HparamKey k{key};
    k.f32 = field;
    k.when_absent = HparamKey::Default::Constant;
    k.constant = value;
    return k;
}

HparamKey or_constant(const char *key, uint32_t Hparams::*field, uint32_t value) {
    HparamKey k{key};
    k.u32 = field;
    k.when_absent = HparamKey::Default::Constant;
    k.constant = value;
    return k;
}

HparamKey or_field(const char *key, uint32_t Hparams::*field, uint32_t Hparams::*from) {
    HparamKey k{key};
    k.u32 = field;
    k.when_absent = HparamKey::Default::Field;
    k.field = from;
    return k;
}

HparamKey or_derived(const char *key, uint32_t Hparams::*field, uint32_t (*derive)(const Hparams &)) {
    HparamKey k{key};
    k.u32 = field;
    k.when_absent = HparamKey::Default::Derived;
    k.derive = derive;
    return k;
}

namespace {

[[noreturn]] void bad(const gguf::File &f, ember_status status, const std::string &what) {
    fail(status, f.name() + ": " + what);
}

void read_key(const gguf::File &f, const std::string &prefix, const HparamKey &k, Hparams &hp) {
    const std::string key = prefix + k.key;
    if (!f.has(key)) {
        switch (k.when_absent) {
            case HparamKey::Default::Required: bad(f, EMBER_ERR_BAD_FORMAT, "missing required metadata key '" + key + "'");
            case HparamKey::Default::Constant:
                if (k.f32) hp.*k.f32 = static_cast<float>(k.constant);
                else hp.*k.u32 = static_cast<uint32_t>(k.constant);
                return;
            case HparamKey::Default::Field: hp.*k.u32 = hp.*k.field; return;
            case HparamKey::Default::Derived: hp.*k.u32 = k.derive(hp); return;
        }
    }
    if (k.f32) {
        hp.*k.f32 = f.get_f32(key);
        return;
    }
    hp.*k.u32 = f.get_u32(key);
    if (k.when_absent == HparamKey::Default::Required && hp.*k.u32 == 0)
        bad(f, EMBER_ERR_BAD_FORMAT, "metadata key '" + key + "' is 0");
}

// What every architecture's attention and rotary embedding need to hold together.
void check_geometry(const gguf::File &f, const std::string &p, Hparams &hp) {
    if (hp.n_layer > kMaxLayers)
        bad(f, EMBER_ERR_BAD_FORMAT, "block_count " + std::to_string(hp.n_layer) + " exceeds " +
                                         std::to_string(kMaxLayers) + " layers");
    if (hp.n_head_kv == 0 || hp.n_head % hp.n_head_kv != 0)
        bad(f, EMBER_ERR_BAD_FORMAT, "attention.head_count " + std::to_string(hp.n_head) +
                                         " is not a multiple of attention.head_count_kv " + std::to_string(hp.n_head_kv));
    if (hp.head_dim == 0)
        bad(f, EMBER_ERR_BAD_FORMAT, "embedding_length " + std::to_string(hp.n_embd) +
                                         " is not a multiple of attention.head_count " + std::to_string(hp.n_head));
    if (hp.head_dim_v != hp.head_dim)
        bad(f, EMBER_ERR_UNSUPPORTED, "attention.key_length " + std::to_string(hp.head_dim) +
                                          " differs from attention.value_length " + std::to_string(hp.head_dim_v));
    if (hp.n_expert > 0 && (hp.n_expert_used == 0 || hp.n_expert_used > hp.n_expert))
        bad(f, EMBER_ERR_BAD_FORMAT, "expert_used_count " + std::to_string(hp.n_expert_used) + " is not in 1.." +
                                         std::to_string(hp.n_expert) + " (expert_count)");
    if (hp.n_rot > hp.head_dim || hp.n_rot % 2)
        bad(f, EMBER_ERR_BAD_FORMAT, "rope.dimension_count " + std::to_string(hp.n_rot) + " does not fit head size " +
                                         std::to_string(hp.head_dim));

    // Linear RoPE scaling stretches positions by 1/factor. The old key scale_linear says the
    // same thing; the newer scaling.type/factor pair wins when both are present.
    if (f.has(p + "rope.scale_linear")) {
        const float factor = f.get_f32(p + "rope.scale_linear");
        if (factor > 0.0f) hp.rope_freq_scale = 1.0f / factor;
    }
    const std::string scaling = f.get_string_or(p + "rope.scaling.type", "none");
    hp.n_ctx_orig = f.get_u32_or(p + "rope.scaling.original_context_length", hp.n_ctx_train);
    hp.rope_attn_factor = f.get_f32_or(p + "rope.scaling.attn_factor", 1.0f);
    if (scaling == "linear" || scaling == "longrope" || scaling == "yarn") {
        // LongRoPE's own work is its per-frequency factors (rope_factors_long/short tensors);
        // YaRN blends scaled and unscaled angles per pair (RopeParams::ext_factor).
        const float factor = f.get_f32_or(p + "rope.scaling.factor", 0.0f);
        if (factor > 0.0f) hp.rope_freq_scale = 1.0f / factor;
        if (scaling == "yarn") {
            hp.rope_ext_factor = 1.0f;
            hp.yarn_beta_fast = f.get_f32_or(p + "rope.scaling.yarn_beta_fast", 32.0f);
            hp.yarn_beta_slow = f.get_f32_or(p + "rope.scaling.yarn_beta_slow", 1.0f);
        }
    } else if (scaling != "none") {
        bad(f, EMBER_ERR_UNSUPPORTED, "rope scaling type '" + scaling + "' (" + p + "rope.scaling.type) is not supported");
    }
}

}  // namespace

Hparams read_hparams(const gguf::File &f) {
    Hparams hp;
    if (!f.has("general.architecture")) bad(f, EMBER_ERR_BAD_FORMAT, "missing required metadata key 'general.architecture'");
    hp.arch_name = f.get_string("general.architecture");
    hp.arch = find_architecture(hp.arch_name);
    if (!hp.arch)
        bad(f, EMBER_ERR_UNSUPPORTED, "unsupported architecture '" + hp.arch_name + "' (supported: " + architecture_names() + ")");
    hp.rope_kind = hp.arch->rope_kind;
    const std::string p = hp.arch_name + ".";
    for (const HparamKey &k : hp.arch->hparams) read_key(f, p, k, hp);
    check_geometry(f, p, hp);
    hp.rope_freq_base_swa = hp.rope_freq_base;
    hp.rope_freq_scale_swa = hp.rope_freq_scale;
    if (hp.arch->adjust) hp.arch->adjust(f, p, hp);

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

void read_swa_pattern(const gguf::File &f, const std::string &prefix, Hparams &hp, uint32_t default_period) {
    hp.swa_layers.assign(hp.n_layer, 0);
    if (hp.n_swa == 0) return;
    const std::string key = prefix + "attention.sliding_window_pattern";
    if (const gguf::Value *v = f.find(key); v && v->type == gguf::ValueType::ARRAY) {
        if (v->elem_type != gguf::ValueType::BOOL || v->count != hp.n_layer)
            bad(f, EMBER_ERR_BAD_FORMAT, "metadata key '" + key + "' is not one bool per layer");
        for (uint32_t i = 0; i < hp.n_layer; ++i) hp.swa_layers[i] = v->number_at(i) != 0.0 ? 1 : 0;
        return;
    }
    const uint32_t period = f.has(key) ? f.get_u32(key) : default_period;  // 0: every layer is local
    for (uint32_t i = 0; i < hp.n_layer; ++i) hp.swa_layers[i] = period == 0 || i % period < period - 1 ? 1 : 0;
}

}  // namespace ember::model
