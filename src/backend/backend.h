// The backend seam: what a device must do for the runtime to run model stages on it. A
// backend owns buffers (weights, KV cache layers, activation arenas), moves bytes in and out
// of them, says which ops and weight types it can run, and runs a range of graph nodes
// (whole layers) against its own arena. The runtime (runtime/scheduler.cpp) does the rest:
// which stage runs where (core/placement.h), uploading graph inputs, moving activations
// across a boundary (Transfer nodes) and reading the outputs back.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/graph.h"
#include "core/tensor_type.h"

namespace ember::backend {

// What crosses a device boundary, as counted by a device that counts (the test device).
enum class Traffic { Weights, Inputs, Activations, Outputs, State };
constexpr int kTrafficKinds = 5;

struct TrafficCounters {
    std::atomic<uint64_t> in[kTrafficKinds] = {};   // host -> device bytes
    std::atomic<uint64_t> out[kTrafficKinds] = {};  // device -> host bytes
    uint64_t bytes_in(Traffic t) const { return in[static_cast<int>(t)].load(); }
    uint64_t bytes_out(Traffic t) const { return out[static_cast<int>(t)].load(); }
    void reset();
};

// One layer's KV cache as its backend's kernels address it: rows of n_head_kv*head_dim values
// of `type` per cell, K and V apart.
struct KvLayer {
    void *k = nullptr;
    void *v = nullptr;
    TensorType k_type = TensorType::F16, v_type = TensorType::F16;
};

// What compute() works with besides the graph and the weights.
struct ComputeContext {
    void *arena = nullptr;                    // this backend's arena (Node::offset is into it)
    const std::vector<KvLayer> *kv = nullptr;  // by layer (only this backend's layers are valid)
    int n_threads = 1;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual const char *name() const = 0;       // "cpu", "cpu-copy"
    virtual std::string description() const = 0;

    // Weights in host memory (the file mapping) are used in place; otherwise the loader copies
    // the weights of this backend's stages into its buffers.
    virtual bool uses_host_weights() const = 0;
    // Its buffers are host memory that the runtime may read and write directly (the CPU);
    // otherwise only upload() and download() reach them.
    virtual bool host_memory() const = 0;

    // A zero-filled buffer of `bytes`; throws EMBER_ERR_OUT_OF_MEMORY.
    virtual std::unique_ptr<Buffer> allocate(size_t bytes) = 0;
    virtual void upload(const Buffer &dst, size_t offset, const void *src, size_t n, Traffic what) = 0;
    virtual void download(const Buffer &src, size_t offset, void *dst, size_t n, Traffic what) = 0;

    // Whether compute() can run `op` reading a weight of `type` (type is ignored for ops
    // without one).
    virtual bool supports(OpType op, TensorType type) const = 0;
    // Runs nodes [first, last) of `graph`: compute ops placed on this backend, in order.
    virtual void compute(const Graph &graph, size_t first, size_t last, const ComputeContext &ctx) = 0;

    // Bytes moved across this backend's boundary (nullptr: it does not count).
    virtual const TrafficCounters *traffic() const { return nullptr; }
    virtual void reset_traffic() {}
};

std::unique_ptr<Backend> create_cpu_backend();

// The device n_gpu_layers offloads to, or nullptr with *why set: EMBER_TEST_DEVICE=cpu-copy
// (a test hook) gives the cpu-copy device; this build has no GPU backend otherwise. An
// unknown EMBER_TEST_DEVICE value throws EMBER_ERR_INVALID_ARGUMENT.
std::unique_ptr<Backend> create_offload_device(std::string *why);

}  // namespace ember::backend
