// qwen3 (dense): the llama decoder with NEOX rotary pairs, no q/k/v biases, and each head of q
// and k RMS-normed before RoPE. The head size comes from attention.key_length and need not
// be n_embd / n_head (Qwen3: 128 for every size).
#include "model/arch/qwen3.h"

#include "model/arch/llama.h"
#include "model/blocks.h"

namespace ember::model {

std::vector<TensorDef> qwen3_tensors() {
    std::vector<TensorDef> t = decoder_tensors(/*biases=*/false);
    t.push_back({QNorm, "attn_q_norm.weight", TensorScope::Layer, TensorUse::Vector, dim::head});
    t.push_back({KNorm, "attn_k_norm.weight", TensorScope::Layer, TensorUse::Vector, dim::head});
    return t;
}

const ArchDef &arch_qwen3() {
    static const ArchDef def{"qwen3", RopeKind::Neox, decoder_hparams(), kGlobalSlots, kLayerSlots, qwen3_tensors(),
                             build_llama};
    return def;
}

}  // namespace ember::model
