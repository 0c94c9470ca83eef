// The MoeFfn op on the CPU. Each token's router logits pick its k experts and their weights
// (MoeParams::gating); the tokens of the micro-batch are then grouped by expert, so each
// selected expert's matrices are streamed once per micro-batch through the ordinary
// dequant-matmul kernels (a GEMM over the rows routed to it), not once per token. Each token's
// result is the sum of its experts' outputs times their weights, added in rank order (as
// llama.cpp adds them).
#pragma once

#include <cstdint>

#include "core/graph.h"

namespace ember::backend {

// x, out: [n_tokens][n_embd]; logits: [n_tokens][n_expert].
void moe_ffn(const Node &n, const float *x, const float *logits, float *out, int n_threads);

}  // namespace ember::backend
