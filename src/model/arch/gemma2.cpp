// gemma2: a llama-like decoder with the embedding scaled by sqrt(n_embd), a GELU-gated FFN,
// RMS norms after attention and after the FFN as well as before them, queries scaled before
// attention, the scores and the final logits soft-capped (cap·tanh(x/cap)), and
// sliding-window attention on alternate layers (even layers local). Gemma stores its norm
// weights as 1 + w (llama.cpp's converter adds the 1), so the norms are plain RMS norms.
#include "model/arch/gemma2.h"

#include <cmath>

#include "gguf/gguf_file.h"
#include "model/blocks.h"

namespace ember::model {

std::vector<HparamKey> gemma_hparams() {
    using H = Hparams;
    std::vector<HparamKey> keys = decoder_hparams();
    keys.push_back(or_constant("attention.sliding_window", &H::n_swa, 0u));
    keys.push_back(or_constant("attn_logit_softcapping", &H::attn_softcap, 0.0));
    keys.push_back(or_constant("final_logit_softcapping", &H::final_softcap, 0.0));
    return keys;
}

std::vector<TensorDef> gemma_tensors(bool qk_norm) {
    using S = TensorScope;
    using U = TensorUse;
    std::vector<TensorDef> t = {
        {TokenEmbd, "token_embd.weight", S::Input, U::Rows, dim::embd, dim::vocab},
        {OutputNorm, "output_norm.weight", S::Output, U::Vector, dim::embd},
        {Output, "output.weight", S::Output, U::MatMul, dim::embd, dim::vocab, true, TokenEmbd},  // tied when absent
        {AttnNorm, "attn_norm.weight", S::Layer, U::Vector, dim::embd},
        {Wq, "attn_q.weight", S::Layer, U::MatMul, dim::embd, dim::q},
        {Wk, "attn_k.weight", S::Layer, U::MatMul, dim::embd, dim::kv},
        {Wv, "attn_v.weight", S::Layer, U::MatMul, dim::embd, dim::kv},
        {Wo, "attn_output.weight", S::Layer, U::MatMul, dim::q, dim::embd},
        {PostAttnNorm, "post_attention_norm.weight", S::Layer, U::Vector, dim::embd},
        {FfnNorm, "ffn_norm.weight", S::Layer, U::Vector, dim::embd},
        {FfnGate, "ffn_gate.weight", S::Layer, U::MatMul, dim::embd, dim::ff},
        {FfnUp, "ffn_up.weight", S::Layer, U::MatMul, dim::embd, dim::ff},
        {FfnDown, "ffn_down.weight", S::Layer, U::MatMul, dim::ff, dim::embd},
        {PostFfnNorm, "post_ffw_norm.weight", S::Layer, U::Vector, dim::embd},
    };
    if (qk_norm) {
        t.push_back({QNorm, "attn_q_norm.weight", S::Layer, U::Vector, dim::head});
        t.push_back({KNorm, "attn_k_norm.weight", S::Layer, U::Vector, dim::head});
    }
    return t;
}

void set_gemma_query_scale(Hparams &hp, uint32_t layers_27b) {
    const uint32_t d = hp.n_layer == layers_27b ? hp.n_embd / hp.n_head : hp.head_dim;
    hp.query_scale = 1.0f / std::sqrt(static_cast<float>(d));
}

NodeId build_gemma(Graph &g, const Hparams &hp, const Weights &w, const BuildInput &in) {
    const DecoderInputs io = decoder_inputs(g, in);
    NodeId x = g.scale(g.get_rows(w[TokenEmbd], io.tokens), std::sqrt(static_cast<float>(hp.n_embd)));
    for (uint32_t il = 0; il < hp.n_layer; ++il) {
        const std::vector<Tensor> &l = w.layer(il);
        g.begin_layer(static_cast<int>(il));
        // x += post_norm(attention(norm(x))); x += post_norm(W_down · (gelu(W_gate·n) * (W_up·n)))
        NodeId a = attention_block(g, hp, l, static_cast<int>(il), g.rms_norm(x, l[AttnNorm], hp.norm_eps), io);
        x = g.add(g.rms_norm(a, l[PostAttnNorm], hp.norm_eps), x);
        NodeId f = gated_ffn(g, l, g.rms_norm(x, l[FfnNorm], hp.norm_eps), Activation::GeluTanh);
        x = g.add(g.rms_norm(f, l[PostFfnNorm], hp.norm_eps), x);
        g.end_layer();
    }
    return output_head(g, hp, w, x, io, in);
}

namespace {

void adjust_gemma2(const gguf::File &f, const std::string &prefix, Hparams &hp) {
    read_swa_pattern(f, prefix, hp, /*default_period=*/2);
    set_gemma_query_scale(hp, /*layers_27b=*/46);
}

}  // namespace

const ArchDef &arch_gemma2() {
    static const ArchDef def{"gemma2", RopeKind::Neox, gemma_hparams(), kGlobalSlots, kLayerSlots,
                             gemma_tensors(/*qk_norm=*/false), build_gemma, adjust_gemma2};
    return def;
}

}  // namespace ember::model
