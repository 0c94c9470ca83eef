// A block of memory that belongs to a backend: weights, a KV cache layer or an activation
// arena. Only its backend reads or writes it directly; everyone else goes through that
// backend's upload/download (backend/backend.h), so a device buffer needs no host address.
#pragma once

#include <cstddef>

namespace ember {

namespace backend {
class Backend;
}

class Buffer {
public:
    virtual ~Buffer() = default;
    // The address the owning backend's kernels use (a host pointer for host backends).
    virtual void *base() const = 0;
    virtual size_t size() const = 0;
    virtual backend::Backend &backend() const = 0;
};

}  // namespace ember
