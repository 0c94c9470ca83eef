// qwen3moe: qwen3's attention (per-head q/k norms, NEOX RoPE) with a mixture of experts in
// every layer: softmax over the router logits, the top expert_used_count experts with their
// weights renormalized, each expert expert_feed_forward_length wide.
#include "model/arch/llama.h"
#include "model/arch/qwen3.h"
#include "model/blocks.h"

namespace ember::model {

const ArchDef &arch_qwen3moe() {
    static const ArchDef def{"qwen3moe", RopeKind::Neox, decoder_hparams(), kGlobalSlots, kLayerSlots, qwen3_tensors(),
                             build_llama};
    return def;
}

}  // namespace ember::model
