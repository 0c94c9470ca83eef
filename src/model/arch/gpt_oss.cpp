// gpt-oss: a decoder whose attention has q/k/v/output biases, one learned sink logit per head
// and a sliding window on alternate layers (even layers local), with YaRN rope; and whose
// every FFN is a mixture of experts: the top k of the router's logits (+ bias), a softmax over
// those k, experts with biases and the clamped SwiGLU (Activation::SwigluOai). The norm
// before the experts is called post_attention_norm. Experts usually come as MXFP4.
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "model/blocks.h"

namespace ember::model {

namespace {

std::vector<HparamKey> gpt_oss_hparams() {
    std::vector<HparamKey> keys = decoder_hparams();
    keys.push_back(or_constant("attention.sliding_window", &Hparams::n_swa, 0u));
    return keys;
}

std::vector<TensorDef> gpt_oss_tensors() {
    using S = TensorScope;
    using U = TensorUse;
    TensorDef gate_b{FfnGateExpsBias, "ffn_gate_exps.bias", S::Layer, U::Vector, dim::ff_exp, dim::experts};
    TensorDef up_b{FfnUpExpsBias, "ffn_up_exps.bias", S::Layer, U::Vector, dim::ff_exp, dim::experts};
    TensorDef down_b{FfnDownExpsBias, "ffn_down_exps.bias", S::Layer, U::Vector, dim::embd, dim::experts};
    return {
        {TokenEmbd, "token_embd.weight", S::Input, U::Rows, dim::embd, dim::vocab},
        {OutputNorm, "output_norm.weight", S::Output, U::Vector, dim::embd},
        {Output, "output.weight", S::Output, U::MatMul, dim::embd, dim::vocab, true, TokenEmbd},
        {AttnNorm, "attn_norm.weight", S::Layer, U::Vector, dim::embd},
        {Wq, "attn_q.weight", S::Layer, U::MatMul, dim::embd, dim::q},
        {Wk, "attn_k.weight", S::Layer, U::MatMul, dim::embd, dim::kv},
        {Wv, "attn_v.weight", S::Layer, U::MatMul, dim::embd, dim::kv},
        {Bq, "attn_q.bias", S::Layer, U::Vector, dim::q},
        {Bk, "attn_k.bias", S::Layer, U::Vector, dim::kv},
        {Bv, "attn_v.bias", S::Layer, U::Vector, dim::kv},
        {Wo, "attn_output.weight", S::Layer, U::MatMul, dim::q, dim::embd},
        {Bo, "attn_output.bias", S::Layer, U::Vector, dim::embd},
        {AttnSinks, "attn_sinks.weight", S::Layer, U::Vector, [](const Hparams &hp) { return int64_t{hp.n_head}; }},
        {FfnNorm, "post_attention_norm.weight", S::Layer, U::Vector, dim::embd},
        {FfnRouter, "ffn_gate_inp.weight", S::Layer, U::MatMul, dim::embd, dim::experts},
        {FfnRouterBias, "ffn_gate_inp.bias", S::Layer, U::Vector, dim::experts},
        {FfnGateExps, "ffn_gate_exps.weight", S::Layer, U::MatMul, dim::embd, dim::ff_exp, true, -1, dim::experts},
        {FfnUpExps, "ffn_up_exps.weight", S::Layer, U::MatMul, dim::embd, dim::ff_exp, true, -1, dim::experts},
        {FfnDownExps, "ffn_down_exps.weight", S::Layer, U::MatMul, dim::ff_exp, dim::embd, true, -1, dim::experts},
        gate_b,
        up_b,
        down_b,
    };
}

void adjust_gpt_oss(const gguf::File &f, const std::string &prefix, Hparams &hp) {
    read_swa_pattern(f, prefix, hp, /*default_period=*/2);
    if (hp.n_expert == 0)
        fail(EMBER_ERR_BAD_FORMAT, f.name() + ": gpt-oss needs " + prefix + "expert_count (every layer is a mixture of experts)");
}

NodeId build_gpt_oss(Graph &g, const Hparams &hp, const Weights &w, const BuildInput &in) {
    const DecoderInputs io = decoder_inputs(g, in);
    NodeId x = g.get_rows(w[TokenEmbd], io.tokens);
    for (uint32_t il = 0; il < hp.n_layer; ++il) {
        const std::vector<Tensor> &l = w.layer(il);
        g.begin_layer(static_cast<int>(il));
        // x += attention(norm(x)) (with sinks); x += experts(norm(x)), top-k then softmax
        x = g.add(attention_block(g, hp, l, static_cast<int>(il), g.rms_norm(x, l[AttnNorm], hp.norm_eps), io), x);
        x = g.add(moe_ffn(g, hp, l, g.rms_norm(x, l[FfnNorm], hp.norm_eps), Activation::SwigluOai,
                          ExpertGating::TopKSoftmax),
                  x);
        g.end_layer();
    }
    return output_head(g, hp, w, x, io, in);
}

}  // namespace

const ArchDef &arch_gpt_oss() {
    static const ArchDef def{"gpt-oss", RopeKind::Neox, gpt_oss_hparams(), kGlobalSlots, kLayerSlots, gpt_oss_tensors(),
                             build_gpt_oss, adjust_gpt_oss};
    return def;
}

}  // namespace ember::model
