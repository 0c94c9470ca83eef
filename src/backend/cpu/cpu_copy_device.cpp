#include "backend/cpu/cpu_copy_device.h"

namespace ember::backend {

void CpuCopyDevice::upload(const Buffer &dst, size_t offset, const void *src, size_t n, Traffic what) {
    CpuBackend::upload(dst, offset, src, n, what);
    traffic_.in[static_cast<int>(what)] += n;
}

void CpuCopyDevice::download(const Buffer &src, size_t offset, void *dst, size_t n, Traffic what) {
    CpuBackend::download(src, offset, dst, n, what);
    traffic_.out[static_cast<int>(what)] += n;
}

}  // namespace ember::backend
