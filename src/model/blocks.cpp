#include "model/blocks.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ember::model {

namespace dim {
int64_t embd(const Hparams &hp) { return hp.n_embd; }
int64_t q(const Hparams &hp) { return hp.n_embd_q(); }
int64_t kv(const Hparams &hp) { return hp.n_embd_kv(); }
int64_t head(const Hparams &hp) { return hp.head_dim; }
int64_t ff(const Hparams &hp) { return hp.n_ff; }
int64_t ff_exp(const Hparams &hp) { return hp.n_ff_exp; }
int64_t experts(const Hparams &hp) { return hp.n_expert; }
int64_t vocab(const Hparams &hp) { return hp.n_vocab; }
int64_t rot_half(const Hparams &hp) { return hp.n_rot / 2; }
}  // namespace dim

std::vector<HparamKey> decoder_hparams() {
    using H = Hparams;
    return {
        required("context_length", &H::n_ctx_train),
        required("embedding_length", &H::n_embd),
        required("block_count", &H::n_layer),
        required("feed_forward_length", &H::n_ff),
        required("attention.head_count", &H::n_head),
        or_field("attention.head_count_kv", &H::n_head_kv, &H::n_head),
        required("attention.layer_norm_rms_epsilon", &H::norm_eps),
        or_derived("attention.key_length", &H::head_dim,
                   [](const H &hp) { return hp.n_embd % hp.n_head == 0 ? hp.n_embd / hp.n_head : 0u; }),
        or_field("attention.value_length", &H::head_dim_v, &H::head_dim),
        or_field("rope.dimension_count", &H::n_rot, &H::head_dim),
        or_constant("rope.freq_base", &H::rope_freq_base, 10000.0),
        or_constant("expert_count", &H::n_expert, 0u),
        or_constant("expert_used_count", &H::n_expert_used, 0u),
        or_field("expert_feed_forward_length", &H::n_ff_exp, &H::n_ff),
    };
}

namespace {
bool dense(const Hparams &hp) { return hp.n_expert == 0; }
bool has_experts(const Hparams &hp) { return hp.n_expert > 0; }
}  // namespace

std::vector<TensorDef> decoder_tensors(bool biases) {
    using S = TensorScope;
    using U = TensorUse;
    return {
        {TokenEmbd, "token_embd.weight", S::Input, U::Rows, dim::embd, dim::vocab},
        {OutputNorm, "output_norm.weight", S::Output, U::Vector, dim::embd},
        {Output, "output.weight", S::Output, U::MatMul, dim::embd, dim::vocab, true, TokenEmbd},  // tied when absent
        {RopeFreqs, "rope_freqs.weight", S::EveryLayer, U::Vector, dim::rot_half, nullptr, false},
        {AttnNorm, "attn_norm.weight", S::Layer, U::Vector, dim::embd},
        {Wq, "attn_q.weight", S::Layer, U::MatMul, dim::embd, dim::q},
        {Wk, "attn_k.weight", S::Layer, U::MatMul, dim::embd, dim::kv},
        {Wv, "attn_v.weight", S::Layer, U::MatMul, dim::embd, dim::kv},
        {Bq, "attn_q.bias", S::Layer, U::Vector, dim::q, nullptr, biases},
        {Bk, "attn_k.bias", S::Layer, U::Vector, dim::kv, nullptr, biases},
        {Bv, "attn_v.bias", S::Layer, U::Vector, dim::kv, nullptr, biases},
        {Wo, "attn_output.weight", S::Layer, U::MatMul, dim::q, dim::embd},
        {Bo, "attn_output.bias", S::Layer, U::Vector, dim::embd, nullptr, false},
        {FfnNorm, "ffn_norm.weight", S::Layer, U::Vector, dim::embd},
        {FfnGate, "ffn_gate.weight", S::Layer, U::MatMul, dim::embd, dim::ff, true, -1, nullptr, dense},
        {FfnUp, "ffn_up.weight", S::Layer, U::MatMul, dim::embd, dim::ff, true, -1, nullptr, dense},
        {FfnDown, "ffn_down.weight", S::Layer, U::MatMul, dim::ff, dim::embd, true, -1, nullptr, dense},
        {FfnRouter, "ffn_gate_inp.weight", S::Layer, U::MatMul, dim::embd, dim::experts, true, -1, nullptr, has_experts},
        {FfnGateExps, "ffn_gate_exps.weight", S::Layer, U::MatMul, dim::embd, dim::ff_exp, true, -1, dim::experts, has_experts},
        {FfnUpExps, "ffn_up_exps.weight", S::Layer, U::MatMul, dim::embd, dim::ff_exp, true, -1, dim::experts, has_experts},
        {FfnDownExps, "ffn_down_exps.weight", S::Layer, U::MatMul, dim::ff_exp, dim::embd, true, -1, dim::experts, has_experts},
    };
}

DecoderInputs decoder_inputs(Graph &g, const BuildInput &in) {
    DecoderInputs io;
    io.tokens = g.input(InputKind::Tokens, 1, in.n_tokens);
    io.positions = g.input(InputKind::Positions, 1, in.n_tokens);
    io.cells = g.input(InputKind::KvCells, 1, in.n_tokens);
    io.mask = g.input(InputKind::Mask, in.n_kv, in.n_tokens);
    io.output_rows = g.input(InputKind::OutputRows, 1, in.n_outputs);
    if (in.sliding_window) {
        io.mask_swa = g.input(InputKind::MaskSwa, in.n_kv_swa, in.n_tokens);
        io.cells_swa = g.input(InputKind::KvCellsSwa, 1, in.n_tokens);
    }
    io.n_ctx_per_seq = in.n_ctx_per_seq;
    return io;
}

const Tensor *optional(const Tensor &t) { return t.present() ? &t : nullptr; }

NodeId attention_block(Graph &g, const Hparams &hp, const std::vector<Tensor> &l, int il, NodeId n,
                       const DecoderInputs &in) {
    const bool local = hp.is_swa(static_cast<uint32_t>(il));
    if (local && in.mask_swa < 0) fail(EMBER_ERR_INTERNAL, "attention_block: a local layer without the sliding-window mask");
    RopeParams rope_q;
    rope_q.kind = hp.rope_kind;
    rope_q.head_dim = hp.head_dim;
    rope_q.n_rot = hp.n_rot;
    rope_q.freq_base = local ? hp.rope_freq_base_swa : hp.rope_freq_base;
    rope_q.freq_scale = local ? hp.rope_freq_scale_swa : hp.rope_freq_scale;
    rope_q.n_heads = hp.n_head;
    rope_q.attn_factor = hp.rope_attn_factor;
    if (hp.rope_ext_factor != 0.0f) {
        // YaRN's correction range: the pairs whose wavelength spans beta_fast .. beta_slow
        // turns over the original context.
        auto corr_dim = [&](float n_turns) {
            return static_cast<float>(hp.n_rot) *
                   std::log(static_cast<float>(hp.n_ctx_orig) / (n_turns * 2.0f * 3.14159265358979323846f)) /
                   (2.0f * std::log(rope_q.freq_base));
        };
        rope_q.ext_factor = hp.rope_ext_factor;
        rope_q.corr_dims[0] = std::max(0.0f, std::floor(corr_dim(hp.yarn_beta_fast)));
        rope_q.corr_dims[1] = std::min(static_cast<float>(hp.n_rot) - 1.0f, std::ceil(corr_dim(hp.yarn_beta_slow)));
    }
    RopeParams rope_k = rope_q;
    rope_k.n_heads = hp.n_head_kv;
    // Llama 3.1's rope_freqs, or LongRoPE's long factors beyond the original context (as
    // llama.cpp decides: the context per sequence), else its short ones.
    const Tensor *factors = optional(l[RopeFreqs]);
    if (l[RopeFactorsLong].present() && in.n_ctx_per_seq > static_cast<int64_t>(hp.n_ctx_orig))
        factors = &l[RopeFactorsLong];
    else if (l[RopeFactorsShort].present())
        factors = &l[RopeFactorsShort];

    NodeId q = g.matmul(l[Wq], n, optional(l[Bq]));  // [n_tokens][n_head * head_dim]
    NodeId k = g.matmul(l[Wk], n, optional(l[Bk]));  // [n_tokens][n_head_kv * head_dim]
    NodeId v = g.matmul(l[Wv], n, optional(l[Bv]));  // [n_tokens][n_head_kv * head_dim]
    if (l[QNorm].present()) q = g.rms_norm(q, l[QNorm], hp.norm_eps);  // per head: the weight has head_dim values
    if (l[KNorm].present()) k = g.rms_norm(k, l[KNorm], hp.norm_eps);
    q = g.rope(q, in.positions, rope_q, factors);
    k = g.rope(k, in.positions, rope_k, factors);
    if (hp.query_scale > 0.0f) q = g.scale(q, hp.query_scale);

    // Causal attention over this sequence's cached tokens, this batch's k/v included.
    const NodeId stored = g.store_kv(il, k, v, local ? in.cells_swa : in.cells);
    AttentionParams att;
    att.n_head = hp.n_head;
    att.n_head_kv = hp.n_head_kv;
    att.head_dim = hp.head_dim;
    att.scale = hp.query_scale > 0.0f ? 1.0f : 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
    att.softcap = hp.attn_softcap;
    const NodeId a = g.attention(il, q, local ? in.mask_swa : in.mask, stored, att,
                                 optional(l[AttnSinks]));  // [n_tokens][n_head * head_dim]
    return g.matmul(l[Wo], a, optional(l[Bo]));
}

NodeId gated_ffn(Graph &g, const std::vector<Tensor> &l, NodeId n, Activation act) {
    const NodeId gate = g.matmul(l[FfnGate], n);  // [n_tokens][n_ff]
    const NodeId up = g.matmul(l[FfnUp], n);      // [n_tokens][n_ff]
    return g.matmul(l[FfnDown], g.glu(act, gate, up));
}

NodeId moe_ffn(Graph &g, const Hparams &hp, const std::vector<Tensor> &l, NodeId n, Activation act,
               ExpertGating gating) {
    MoeParams p;
    p.n_expert = hp.n_expert;
    p.n_used = hp.n_expert_used;
    p.gating = gating;
    p.act = act;
    const NodeId router = g.matmul(l[FfnRouter], n, optional(l[FfnRouterBias]));  // [n_tokens][n_expert]
    return g.moe_ffn(n, router, l[FfnGateExps], l[FfnUpExps], l[FfnDownExps], p,
                     {optional(l[FfnGateExpsBias]), optional(l[FfnUpExpsBias]), optional(l[FfnDownExpsBias])});
}

NodeId feed_forward(Graph &g, const Hparams &hp, const std::vector<Tensor> &l, NodeId n, Activation act) {
    return hp.n_expert > 0 ? moe_ffn(g, hp, l, n, act) : gated_ffn(g, l, n, act);
}

NodeId output_head(Graph &g, const Hparams &hp, const Weights &w, NodeId x, const DecoderInputs &io,
                   const BuildInput &in) {
    if (in.n_outputs < in.n_tokens) x = g.select_rows(x, io.output_rows);  // [n_outputs][n_embd]
    x = g.rms_norm(x, w[OutputNorm], hp.norm_eps);
    if (in.embeddings) return x;
    const NodeId logits = g.matmul(w[Output], x);  // [n_outputs][n_vocab]
    return hp.final_softcap > 0.0f ? g.soft_cap(logits, hp.final_softcap) : logits;
}

}  // namespace ember::model
