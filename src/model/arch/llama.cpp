// llama: Llama 2/3, Mistral, Mixtral (experts), TinyLlama, SmolLM. Every activation is
// [n_tokens][width] float32; the residual stream x is [n_tokens][n_embd]. Read top to bottom,
// this is the math; the kernels live in the backends.
#include "model/arch/llama.h"

#include "model/blocks.h"

namespace ember::model {

NodeId build_llama(Graph &g, const Hparams &hp, const Weights &w, const BuildInput &in) {
    const DecoderInputs io = decoder_inputs(g, in);
    NodeId x = g.get_rows(w[TokenEmbd], io.tokens);  // [n_tokens][n_embd]
    for (uint32_t il = 0; il < hp.n_layer; ++il) {
        const std::vector<Tensor> &l = w.layer(il);
        g.begin_layer(static_cast<int>(il));
        // x += attention(rmsnorm(x)); x += W_down · (silu(W_gate·n) * (W_up·n)), n = rmsnorm(x),
        // or the same through the experts the router picks (Mixtral, Qwen3-MoE)
        x = g.add(x, attention_block(g, hp, l, static_cast<int>(il), g.rms_norm(x, l[AttnNorm], hp.norm_eps), io));
        x = g.add(x, feed_forward(g, hp, l, g.rms_norm(x, l[FfnNorm], hp.norm_eps), Activation::Silu));
        g.end_layer();
    }
    return output_head(g, hp, w, x, io, in);
}

const ArchDef &arch_llama() {
    static const ArchDef def{"llama", RopeKind::Interleaved, decoder_hparams(), kGlobalSlots, kLayerSlots,
                             decoder_tensors(/*biases=*/false), build_llama};
    return def;
}

}  // namespace ember::model
