// The llama forward pass (Llama 2/3, Mistral, TinyLlama, SmolLM; qwen2 adds q/k/v biases and
// NEOX rotary pairs). Every activation is [n_tokens][width] float32; the residual stream x is
// [n_tokens][n_embd]. Read top to bottom, this is the math; the kernels live in the backend.
#include "model/forward.h"

#include <cmath>

namespace ember::model {

namespace {

const Tensor *optional(const Tensor &t) { return t.present() ? &t : nullptr; }

}  // namespace

NodeId build_forward(Graph &g, const Hparams &hp, const Weights &w, const ForwardInput &in) {
    // Rotary embedding of q (n_head heads) and k (n_head_kv heads) at each token's position.
    RopeParams rope_q;
    rope_q.kind = hp.rope_kind;
    rope_q.head_dim = hp.head_dim;
    rope_q.n_rot = hp.n_rot;
    rope_q.freq_base = hp.rope_freq_base;
    rope_q.freq_scale = hp.rope_freq_scale;
    rope_q.freq_factors = w.rope_freqs.present() ? w.rope_freqs.f32() : nullptr;
    rope_q.positions = in.positions;
    rope_q.n_heads = hp.n_head;
    RopeParams rope_k = rope_q;
    rope_k.n_heads = hp.n_head_kv;

    // x = embedding rows of the tokens                                  [n_tokens][n_embd]
    NodeId x = g.get_rows(w.token_embd, in.tokens, in.n_tokens);

    for (uint32_t il = 0; il < hp.n_layer; ++il) {
        const LayerWeights &l = w.layers[il];
        g.begin_layer(static_cast<int>(il));

        // Attention block: x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n), n = rmsnorm(x)
        NodeId n = g.rms_norm(x, l.attn_norm, hp.norm_eps);
        NodeId q = g.matmul(l.wq, n, optional(l.bq));  // [n_tokens][n_head * head_dim]
        NodeId k = g.matmul(l.wk, n, optional(l.bk));  // [n_tokens][n_head_kv * head_dim]
        NodeId v = g.matmul(l.wv, n, optional(l.bv));  // [n_tokens][n_head_kv * head_dim]
        q = g.rope(q, rope_q);
        k = g.rope(k, rope_k);

        // Causal attention over this sequence's cached tokens, this batch's k/v included.
        AttentionParams att = in.kv->layer_view(il);
        att.n_head = hp.n_head;
        att.n_head_kv = hp.n_head_kv;
        att.head_dim = hp.head_dim;
        att.scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
        att.dst_cells = in.cells;
        att.n_kv = in.n_kv;
        att.mask = in.mask;
        NodeId a = g.attention(q, k, v, att);           // [n_tokens][n_head * head_dim]
        x = g.add(x, g.matmul(l.wo, a));

        // Feed-forward block: x += W_down · (silu(W_gate·n) * (W_up·n)), n = rmsnorm(x)
        n = g.rms_norm(x, l.ffn_norm, hp.norm_eps);
        NodeId gate = g.matmul(l.ffn_gate, n);          // [n_tokens][n_ff]
        NodeId up = g.matmul(l.ffn_up, n);              // [n_tokens][n_ff]
        NodeId h = g.swiglu(gate, up);
        x = g.add(x, g.matmul(l.ffn_down, h));

        g.end_layer();
    }

    // Only the rows someone asked for go through the head.                [n_outputs][n_embd]
    if (in.n_outputs < in.n_tokens) x = g.select_rows(x, in.output_rows, in.n_outputs);
    x = g.rms_norm(x, w.output_norm, hp.norm_eps);
    if (in.embeddings) return x;
    return g.matmul(w.output, x);                       // logits [n_outputs][n_vocab]
}

}  // namespace ember::model
