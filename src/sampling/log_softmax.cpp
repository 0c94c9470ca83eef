#include "sampling/log_softmax.h"

#include <algorithm>
#include <cmath>

namespace ember::sampling {

double log_sum_exp(const float *logits, size_t n) {
    const float max = *std::max_element(logits, logits + n);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
    return static_cast<double>(max) + std::log(sum);
}

void log_softmax(const float *logits, size_t n, std::vector<double> &out) {
    const double log_z = log_sum_exp(logits, n);
    out.resize(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(logits[i]) - log_z;
}

}  // namespace ember::sampling
