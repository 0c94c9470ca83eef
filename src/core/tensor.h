// A typed view of tensor data that someone else owns: model weights point into the mapped
// GGUF file or into a backend's weight buffer. Rows are contiguous; ne[0] is the row length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor_type.h"

namespace ember {

class Buffer;

struct Tensor {
    std::string name;                 // the GGUF name for weights ("blk.3.attn_q.weight")
    TensorType type = TensorType::F32;
    int64_t ne[4] = {1, 1, 1, 1};     // ne[0]: elements per row; ne[1..3]: rows, matrices, ...
    size_t row_bytes = 0;             // bytes between consecutive rows
    const void *data = nullptr;       // nullptr: absent (an optional weight the model lacks)
    const Buffer *buffer = nullptr;   // where data lives; nullptr: host memory (the mapping)

    bool present() const { return data != nullptr; }
    int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
    int64_t n_elements() const { return ne[0] * n_rows(); }
    const uint8_t *row(int64_t i) const { return static_cast<const uint8_t *>(data) + static_cast<size_t>(i) * row_bytes; }
    // The values as float32 (only for type F32).
    const float *f32() const { return static_cast<const float *>(data); }
};

}  // namespace ember
