// phi3 (Phi-3, Phi-3.5, Phi-4 mini): the llama decoder with NEOX rotary pairs and fused
// matrices: attn_qkv holds q, k and v one after another (the loader splits it into views),
// ffn_up holds the gate and then the up projection (2·n_ff rows). Queries are scaled by
// 1/sqrt(head_dim) before attention. The 128k models carry LongRoPE factors
// (rope_factors_long/short) and rope.scaling.attn_factor. llama.cpp ignores phi3's
// attention.sliding_window (every layer attends over the whole context); so does Ember.
#include <cmath>

#include "gguf/gguf_file.h"
#include "model/arch/llama.h"
#include "model/blocks.h"

namespace ember::model {

namespace {

int64_t qkv_rows(const Hparams &hp) { return hp.n_embd_q() + 2 * static_cast<int64_t>(hp.n_embd_kv()); }
int64_t gate_up_rows(const Hparams &hp) { return 2 * static_cast<int64_t>(hp.n_ff); }

std::vector<TensorDef> phi3_tensors() {
    using S = TensorScope;
    using U = TensorUse;
    TensorDef qkv{Wqkv, "attn_qkv.weight", S::Layer, U::MatMul, dim::embd, qkv_rows};
    qkv.split[0] = Wq, qkv.split[1] = Wk, qkv.split[2] = Wv;
    qkv.split_rows[0] = dim::q, qkv.split_rows[1] = dim::kv, qkv.split_rows[2] = dim::kv;
    TensorDef gate_up{FfnGateUp, "ffn_up.weight", S::Layer, U::MatMul, dim::embd, gate_up_rows};
    gate_up.split[0] = FfnGate, gate_up.split[1] = FfnUp;
    gate_up.split_rows[0] = dim::ff, gate_up.split_rows[1] = dim::ff;
    return {
        {TokenEmbd, "token_embd.weight", S::Input, U::Rows, dim::embd, dim::vocab},
        {OutputNorm, "output_norm.weight", S::Output, U::Vector, dim::embd},
        {Output, "output.weight", S::Output, U::MatMul, dim::embd, dim::vocab, true, TokenEmbd},
        {RopeFactorsLong, "rope_factors_long.weight", S::EveryLayer, U::Vector, dim::rot_half, nullptr, false},
        {RopeFactorsShort, "rope_factors_short.weight", S::EveryLayer, U::Vector, dim::rot_half, nullptr, false},
        {AttnNorm, "attn_norm.weight", S::Layer, U::Vector, dim::embd},
        qkv,
        {Wo, "attn_output.weight", S::Layer, U::MatMul, dim::q, dim::embd},
        {FfnNorm, "ffn_norm.weight", S::Layer, U::Vector, dim::embd},
        gate_up,
        {FfnDown, "ffn_down.weight", S::Layer, U::MatMul, dim::ff, dim::embd},
    };
}

void adjust_phi3(const gguf::File &, const std::string &, Hparams &hp) {
    hp.query_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
}

}  // namespace

const ArchDef &arch_phi3() {
    static const ArchDef def{"phi3", RopeKind::Neox, decoder_hparams(), kGlobalSlots, kLayerSlots, phi3_tensors(),
                             build_llama, adjust_phi3};
    return def;
}

}  // namespace ember::model
