// The weights of a llama-family model as typed views into the mapped GGUF file (nothing is
// copied except small 1-D tensors stored in a non-F32 type, converted once at load).
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.h"
#include "model/hparams.h"

namespace ember::gguf {
class File;
class ShardedModel;
}

namespace ember::model {

// Shapes are given as [rows][row length]: a matmul weight maps row-length inputs to rows.
struct LayerWeights {
    Tensor attn_norm;                   // [n_embd]
    Tensor wq, wk, wv;                  // [n_embd_q][n_embd], [n_embd_kv][n_embd] x2
    Tensor bq, bk, bv;                  // qwen2 only: [n_embd_q], [n_embd_kv] x2
    Tensor wo;                          // [n_embd][n_embd_q]
    Tensor ffn_norm;                    // [n_embd]
    Tensor ffn_gate, ffn_up;            // [n_ff][n_embd]
    Tensor ffn_down;                    // [n_embd][n_ff]
};

struct Weights {
    Tensor token_embd;                  // [n_vocab][n_embd]
    Tensor output_norm;                 // [n_embd]
    Tensor output;                      // [n_vocab][n_embd]; token_embd when tied
    Tensor rope_freqs;                  // [n_rot/2] frequency divisors (Llama 3.1), optional
    std::vector<LayerWeights> layers;
    bool tied_output = false;

    // Converted copies of non-F32 vectors (norms, biases): their Tensors point in here.
    std::vector<std::unique_ptr<std::vector<float>>> converted;
};

// Finds and checks every tensor the architecture needs: a missing tensor, a wrong shape or a
// type without kernels throws ember::Error naming the file and the tensor.
Weights load_weights(const gguf::ShardedModel &files, const Hparams &hp);

}  // namespace ember::model
