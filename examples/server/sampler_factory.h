// The sampler chain of one request. This is the one place a request's sampling options
// become an ember_sampler; output constraints (e.g. a grammar for response_format) join the
// chain here.
#pragma once

#include <memory>

#include "ember/ember.h"
#include "request.h"

namespace server {

struct SamplerDeleter {
    void operator()(ember_sampler *s) const { ember_sampler_free(s); }
};
using SamplerPtr = std::unique_ptr<ember_sampler, SamplerDeleter>;

// grammar or JSON Schema -> logit bias -> penalties -> greedy, or top-k -> top-p -> min-p ->
// temperature -> draw. Throws ApiError (400) when Ember refuses a value, a grammar or a schema.
SamplerPtr make_sampler(const ember_model *model, const SamplingOptions &options);

}  // namespace server
