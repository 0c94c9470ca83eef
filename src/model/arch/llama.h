// The llama forward pass, which other llama-style architectures (qwen2) reuse as it is.
#pragma once

#include "model/architecture.h"

namespace ember::model {

NodeId build_llama(Graph &g, const Hparams &hp, const Weights &w, const BuildInput &in);

}  // namespace ember::model
