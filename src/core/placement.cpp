#include "core/placement.h"

namespace ember {

int Placement::backend_of(int stage) const {
    if (stage == kInputStage) return input;
    if (stage == kOutputStage) return output;
    return layers.at(static_cast<size_t>(stage));
}

uint32_t Placement::n_device_layers() const {
    uint32_t n = 0;
    for (int b : layers) n += b == kDeviceBackend;
    return n;
}

Placement place_layers(uint32_t n_layer, int32_t n_gpu_layers, bool have_device) {
    Placement p;
    p.layers.assign(n_layer, kCpuBackend);
    if (!have_device || n_gpu_layers == 0) return p;
    const bool all = n_gpu_layers < 0 || static_cast<uint32_t>(n_gpu_layers) > n_layer;
    const uint32_t n_device = all ? n_layer : static_cast<uint32_t>(n_gpu_layers);
    for (uint32_t il = n_layer - n_device; il < n_layer; ++il) p.layers[il] = kDeviceBackend;
    if (all) p.input = p.output = kDeviceBackend;
    p.n_backends = 2;
    return p;
}

}  // namespace ember
