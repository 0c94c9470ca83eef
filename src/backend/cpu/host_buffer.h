// Plain host memory as a Buffer: 64-byte aligned, zero-filled. The CPU backend's buffers, and
// the test device's (which pretends they are not host memory).
#pragma once

#include <cstddef>
#include <memory>

#include "core/buffer.h"

namespace ember::backend {

class HostBuffer final : public Buffer {
public:
    HostBuffer(Backend &owner, size_t bytes);  // throws EMBER_ERR_OUT_OF_MEMORY
    ~HostBuffer() override;
    HostBuffer(const HostBuffer &) = delete;
    HostBuffer &operator=(const HostBuffer &) = delete;

    void *base() const override { return data_; }
    size_t size() const override { return size_; }
    Backend &backend() const override { return owner_; }

private:
    Backend &owner_;
    void *data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace ember::backend
