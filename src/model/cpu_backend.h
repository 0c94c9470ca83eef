// Executes a graph on the CPU with the kernels of kernels/cpu, layer by layer.
#pragma once

#include <functional>

#include "core/graph.h"

namespace ember::model {

// Runs every node of `graph` in order with up to n_threads threads, activations in `arena`
// (reserved here). Between layers it asks `should_abort` (nullable); returns false when that
// said stop, leaving the graph partly computed.
bool compute_on_cpu(const Graph &graph, Arena &arena, int n_threads, const std::function<bool()> &should_abort);

}  // namespace ember::model
