// The CPU backend: runs graph nodes with the kernels of kernels/cpu (matmul at the process's
// ISA level) and the float ops and attention in this folder, on host memory. Weights are used
// in place from the file mapping.
#pragma once

#include <string>

#include "backend/backend.h"

namespace ember::backend {

class CpuBackend : public Backend {
public:
    const char *name() const override { return "cpu"; }
    std::string description() const override;
    bool uses_host_weights() const override { return true; }
    bool host_memory() const override { return true; }
    std::unique_ptr<Buffer> allocate(size_t bytes) override;
    void upload(const Buffer &dst, size_t offset, const void *src, size_t n, Traffic what) override;
    void download(const Buffer &src, size_t offset, void *dst, size_t n, Traffic what) override;
    bool supports(OpType op, TensorType type) const override;
    void compute(const Graph &graph, size_t first, size_t last, const ComputeContext &ctx) override;
};

}  // namespace ember::backend
