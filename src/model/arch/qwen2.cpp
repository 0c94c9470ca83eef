// qwen2: the llama decoder (the same build) with required biases on q, k and v, and NEOX
// rotary pairs (i, i + n_rot/2).
#include "model/arch/llama.h"
#include "model/blocks.h"

namespace ember::model {

const ArchDef &arch_qwen2() {
    static const ArchDef def{"qwen2", RopeKind::Neox, decoder_hparams(), kGlobalSlots, kLayerSlots,
                             decoder_tensors(/*biases=*/true), build_llama};
    return def;
}

}  // namespace ember::model
