// gemma3 (text): gemma2's decoder with per-head q/k norms and no soft-caps; five local
// (sliding-window) layers to each global one by default, the local layers with their own RoPE
// (rope.freq_base_swa, default 10000, unscaled) and the global layers with rope.freq_base and
// the file's rope scaling.
#include "gguf/gguf_file.h"
#include "model/arch/gemma2.h"
#include "model/blocks.h"

namespace ember::model {

namespace {

void adjust_gemma3(const gguf::File &f, const std::string &prefix, Hparams &hp) {
    read_swa_pattern(f, prefix, hp, /*default_period=*/6);
    hp.rope_freq_base_swa = f.get_f32_or(prefix + "rope.freq_base_swa", 10000.0f);
    hp.rope_freq_scale_swa = 1.0f;
    set_gemma_query_scale(hp, /*layers_27b=*/62);
}

}  // namespace

const ArchDef &arch_gemma3() {
    static const ArchDef def{"gemma3", RopeKind::Neox, gemma_hparams(), kGlobalSlots, kLayerSlots,
                             gemma_tensors(/*qk_norm=*/true), build_gemma, adjust_gemma3};
    return def;
}

}  // namespace ember::model
