// The weights of a model, found and checked by its architecture's tensor table and placed on
// the backend of the stage that reads them: a backend that uses host weights (the CPU) reads
// them in place from the mapped file (only small vectors stored in a non-F32 type are
// converted); any other gets a copy in one buffer of its own, uploaded once at load.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/buffer.h"
#include "core/placement.h"
#include "core/tensor.h"
#include "model/hparams.h"

namespace ember::gguf {
class ShardedModel;
}

namespace ember::backend {
class Backend;
}

namespace ember::model {

struct Weights {
    std::vector<Tensor> global;               // by the architecture's global slot
    std::vector<std::vector<Tensor>> layers;  // [layer][layer slot]
    std::vector<uint64_t> bytes;              // weight bytes held by each backend

    const Tensor &operator[](int slot) const { return global.at(static_cast<size_t>(slot)); }
    const std::vector<Tensor> &layer(uint32_t il) const { return layers.at(il); }

    std::vector<std::unique_ptr<Buffer>> buffers;                  // device copies
    std::vector<std::unique_ptr<std::vector<float>>> converted;    // F32 copies of small vectors
};

// Finds and checks every tensor of hp.arch's table and places it per `placement` on
// backends[b] (one entry per placement backend). A nullptr entry plans without copying:
// the tensors stay views of the file and `bytes` says what that backend would hold (the
// memory estimate). A missing tensor, a wrong shape or a type the backend cannot run throws
// ember::Error naming the file, the tensor and what was expected.
// `progress`, when set, is called after each tensor is placed (uploaded to its device, or
// checked where it stays in the mapping) with the fraction of weight bytes placed so far;
// returning false cancels the load (EMBER_ERR_ABORTED, nothing kept).
using LoadProgress = std::function<bool(float fraction)>;
Weights load_weights(const gguf::ShardedModel &files, const Hparams &hp, const Placement &placement,
                     const std::vector<backend::Backend *> &backends, const LoadProgress &progress = {});

}  // namespace ember::model
