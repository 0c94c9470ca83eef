// log_softmax(logits)[i] = logits[i] - log Σ_j exp(logits[j]): the log-probabilities of a
// logits row. One implementation for sampling (top-n log-probabilities), generation (the chosen
// token's log-probability) and perplexity (negative log-likelihoods and KL-divergence).
//
// Precision: the sum of exp(logit - max) runs in double and the normalizer stays a double, so
// log-probabilities of a 150k-token vocabulary lose nothing to the summation, and perplexity
// (which averages them over ~100k tokens) matches llama-perplexity's figures to the digits it
// prints. Callers that report floats round once, at the end.
#pragma once

#include <cstddef>
#include <vector>

namespace ember::sampling {

// log Σ_i exp(logits[i]) for n > 0 logits, shifted by the largest one so no exp overflows.
double log_sum_exp(const float *logits, size_t n);

// out[0..n) = log_softmax(logits[0..n)), n > 0.
void log_softmax(const float *logits, size_t n, std::vector<double> &out);

}  // namespace ember::sampling
