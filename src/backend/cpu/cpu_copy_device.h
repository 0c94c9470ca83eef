// The test device (EMBER_TEST_DEVICE=cpu-copy): the CPU backend playing a GPU, so that the
// whole offload path runs in every build. It owns copies of its stages' weights (never the
// mapping), its own arenas and KV storage, and counts every byte that crosses its boundary;
// the runtime treats its buffers as device memory, reachable only through upload/download.
#pragma once

#include "backend/cpu/cpu_backend.h"

namespace ember::backend {

class CpuCopyDevice final : public CpuBackend {
public:
    const char *name() const override { return "cpu-copy"; }
    std::string description() const override { return "test device (CPU with copied weights)"; }
    bool uses_host_weights() const override { return false; }
    bool host_memory() const override { return false; }
    void upload(const Buffer &dst, size_t offset, const void *src, size_t n, Traffic what) override;
    void download(const Buffer &src, size_t offset, void *dst, size_t n, Traffic what) override;
    const TrafficCounters *traffic() const override { return &traffic_; }
    void reset_traffic() override { traffic_.reset(); }

private:
    TrafficCounters traffic_;
};

}  // namespace ember::backend
