// Where each stage of a model runs: backend 0 is the CPU, backend 1 the offload device (a GPU,
// or the cpu-copy test device). One function decides it from n_gpu_layers, and the weight
// loader, the session and the memory estimate all use its answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ember {

constexpr int kInputStage = -1;   // the token embedding
constexpr int kOutputStage = -2;  // the final norm and the output head
constexpr int kCpuBackend = 0;
constexpr int kDeviceBackend = 1;
constexpr int kMaxBackends = 2;

struct Placement {
    int input = kCpuBackend;
    int output = kCpuBackend;
    std::vector<int> layers;  // backend of each layer
    int n_backends = 1;       // 2 when a device is in use

    // The backend of a stage: a layer index, kInputStage or kOutputStage.
    int backend_of(int stage) const;
    uint32_t n_device_layers() const;
};

// n_gpu_layers as llama.cpp means it: the last L layers run on the device; L > n_layer (or
// L < 0, "all") also puts the output head there, and with it the token embedding, so that a
// fully offloaded model receives only token ids and returns only the requested outputs.
// Without a device (have_device false) everything runs on the CPU.
Placement place_layers(uint32_t n_layer, int32_t n_gpu_layers, bool have_device);

}  // namespace ember
