#include "backend/cpu/host_buffer.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace ember::backend {

HostBuffer::HostBuffer(Backend &owner, size_t bytes) : owner_(owner), size_(bytes) {
    constexpr size_t kAlign = 64;
    if (bytes == 0) return;
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    data_ = std::aligned_alloc(kAlign, rounded);
    if (!data_) fail(EMBER_ERR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes");
    std::memset(data_, 0, rounded);
}

HostBuffer::~HostBuffer() { std::free(data_); }

}  // namespace ember::backend
