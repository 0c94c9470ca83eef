// Runs a scheduled graph (Graph::schedule) on the backends its stages were placed on: each
// backend computes its own nodes in its own arena; the scheduler uploads the graph inputs
// each backend needs (Input nodes), carries activations across a boundary (Transfer nodes)
// and reads the result back.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "core/graph.h"

namespace ember {

// Host data of each graph input (by InputKind), read while the graph runs.
struct GraphInputs {
    const void *data[kInputKinds] = {};
};

class Scheduler {
public:
    explicit Scheduler(std::vector<backend::Backend *> backends) : backends_(std::move(backends)), arenas_(backends_.size()) {}

    // Runs every stage in order with up to n_threads threads. Between stages it asks
    // should_abort (nullable); returns false when that said stop, leaving the graph partly
    // computed.
    bool run(const Graph &graph, const GraphInputs &inputs, const std::vector<backend::KvLayer> &kv, int n_threads,
             const std::function<bool()> &should_abort);
    // Copies the first `bytes` of the graph's output to dst.
    void read_output(const Graph &graph, void *dst, size_t bytes);

    // Arena bytes held on backend b (grown by runs, never shrunk).
    size_t arena_bytes(int b) const;

private:
    void copy_input(const Node &n, const GraphInputs &inputs);
    void transfer(const Graph &graph, const Node &n);
    uint8_t *host_address(int b, size_t offset) const;

    std::vector<backend::Backend *> backends_;
    std::vector<std::unique_ptr<Buffer>> arenas_;
    std::vector<uint8_t> staging_;  // between two backends that are both not host memory
};

}  // namespace ember
