// The Gemma decoder (gemma2, gemma3 share it): its tensor table and build function.
#pragma once

#include <vector>

#include "model/architecture.h"

namespace ember::model {

// `qk_norm`: the layers also have per-head q/k norms (gemma3).
std::vector<TensorDef> gemma_tensors(bool qk_norm);
std::vector<HparamKey> gemma_hparams();
// 1/sqrt(key_length) on the queries, except the 27B models' 1/sqrt(n_embd/n_head) (llama.cpp
// tells them by their layer count, `layers_27b`).
void set_gemma_query_scale(Hparams &hp, uint32_t layers_27b);
NodeId build_gemma(Graph &g, const Hparams &hp, const Weights &w, const BuildInput &in);

}  // namespace ember::model
