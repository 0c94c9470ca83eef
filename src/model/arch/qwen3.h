// The qwen3 tensor table, which qwen3moe shares.
#pragma once

#include <vector>

#include "model/architecture.h"

namespace ember::model {

std::vector<TensorDef> qwen3_tensors();

}  // namespace ember::model
