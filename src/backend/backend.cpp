#include "backend/backend.h"

#include <cstdlib>

#include "backend/cpu/cpu_copy_device.h"
#include "core/error.h"

namespace ember::backend {

void TrafficCounters::reset() {
    for (int i = 0; i < kTrafficKinds; ++i) {
        in[i] = 0;
        out[i] = 0;
    }
}

std::unique_ptr<Backend> create_offload_device(std::string *why) {
    const char *test_device = std::getenv("EMBER_TEST_DEVICE");
    if (test_device && *test_device) {
        if (std::string(test_device) == "cpu-copy") return std::make_unique<CpuCopyDevice>();
        fail(EMBER_ERR_INVALID_ARGUMENT,
             std::string("EMBER_TEST_DEVICE='") + test_device + "' is not a test device (the one there is: cpu-copy)");
    }
    if (why) *why = "this build has no GPU backend";
    return nullptr;
}

}  // namespace ember::backend
