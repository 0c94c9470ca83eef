// The building blocks of decoder-only transformers that architecture modules compose: the
// standard tensor slots and table rows, the graph inputs, the attention block, the gated
// feed-forward block and the output head. Each returns the block's output node; the residual
// adds stay in the module's build function, so it reads like the model's math.
#pragma once

#include <vector>

#include "core/graph.h"
#include "model/architecture.h"
#include "model/weights.h"

namespace ember::model {

// The standard tensors (llama.cpp's names). A module may add slots of its own after these.
enum GlobalSlot { TokenEmbd, OutputNorm, Output, kGlobalSlots };
enum LayerSlot {
    AttnNorm, Wq, Wk, Wv, Bq, Bk, Bv,
    QNorm, KNorm,  // per-head RMS norms of q and k before RoPE (qwen3, gemma3); absent elsewhere
    Wo, Bo, AttnSinks,  // output bias (optional), per-head attention sinks (gpt-oss)
    PostAttnNorm, FfnNorm, FfnGate, FfnUp, FfnDown, PostFfnNorm,  // post norms: Gemma
    FfnRouter, FfnGateExps, FfnUpExps, FfnDownExps,  // a mixture of experts instead of FfnGate/Up/Down
    FfnRouterBias, FfnGateExpsBias, FfnUpExpsBias, FfnDownExpsBias,  // their biases (gpt-oss)
    RopeFreqs,
    RopeFactorsLong, RopeFactorsShort,  // LongRoPE (phi3): chosen by the context length
    Wqkv, FfnGateUp,                    // fused matrices (phi3), split into Wq/Wk/Wv, FfnGate/FfnUp
    kLayerSlots
};

// Shapes of the standard tensors, for the tables.
namespace dim {
int64_t embd(const Hparams &hp);
int64_t q(const Hparams &hp);      // n_head * head_dim
int64_t kv(const Hparams &hp);     // n_head_kv * head_dim
int64_t head(const Hparams &hp);   // head_dim
int64_t ff(const Hparams &hp);
int64_t ff_exp(const Hparams &hp);  // one expert's hidden size
int64_t experts(const Hparams &hp);
int64_t vocab(const Hparams &hp);
int64_t rot_half(const Hparams &hp);
}  // namespace dim

// The hyper-parameter keys every llama-style decoder has.
std::vector<HparamKey> decoder_hparams();
// The tensor table of a llama-style decoder; `biases` says whether q/k/v biases are
// required (qwen2) or optional (llama: used when present). Its feed-forward is dense, or a
// mixture of experts where the file has an expert_count.
std::vector<TensorDef> decoder_tensors(bool biases);

// The graph inputs of one micro-batch.
struct DecoderInputs {
    NodeId tokens, positions, cells, mask, output_rows;
    NodeId mask_swa = -1, cells_swa = -1;  // the local layers' mask and cells (their own cache)
    int64_t n_ctx_per_seq = 0;
};
DecoderInputs decoder_inputs(Graph &g, const BuildInput &in);

const Tensor *optional(const Tensor &t);

// Wo · attention(rope(Wq·n + bq), rope(Wk·n + bk), Wv·n + bv) over layer il's cache, after
// storing this micro-batch's k and v there; n is the normed residual. Where the layer has
// QNorm/KNorm, each head of q and k is RMS-normed before RoPE. The hyper-parameters say the
// rest: a local layer's RoPE and window, a query scale applied to q (else 1/sqrt(head_dim) on
// the scores), the scores' soft-cap.
NodeId attention_block(Graph &g, const Hparams &hp, const std::vector<Tensor> &l, int il, NodeId n,
                       const DecoderInputs &in);
// W_down · (act(W_gate·n) * (W_up·n)).
NodeId gated_ffn(Graph &g, const std::vector<Tensor> &l, NodeId n, Activation act);
// The experts the router (FfnRouter·n + bias) picks for each token, by `gating` (softmax then
// top-k with the k weights renormalized: Mixtral, Qwen3-MoE; top-k then softmax: gpt-oss),
// each a gated FFN with `act` and the layer's expert biases where it has them.
NodeId moe_ffn(Graph &g, const Hparams &hp, const std::vector<Tensor> &l, NodeId n, Activation act,
               ExpertGating gating = ExpertGating::SoftmaxTopK);
// The layer's feed-forward: moe_ffn where the model has experts, else gated_ffn.
NodeId feed_forward(Graph &g, const Hparams &hp, const std::vector<Tensor> &l, NodeId n, Activation act);
// The rows someone asked for, normed, through the output head (or the normed rows alone when
// embeddings are wanted); the logits soft-capped where the model caps them.
NodeId output_head(Graph &g, const Hparams &hp, const Weights &w, NodeId x, const DecoderInputs &io,
                   const BuildInput &in);

}  // namespace ember::model
