// Writing a model as split shards and merging shards back into one file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf_shards.h"

namespace ember::gguf {

struct SplitLimits {
    uint64_t max_tensors = 0;  // per shard; 0 = no limit
    uint64_t max_bytes = 0;    // tensor bytes per shard; 0 = no limit
};

// Writes `<prefix>-0000i-of-0000N.gguf`; the first shard carries all metadata. A tensor
// larger than max_bytes gets a shard of its own. Returns the paths written.
std::vector<std::string> write_split(const ShardedModel &model, const std::string &prefix, const SplitLimits &limits);

// Writes the model (split or not) as one file, without split.* keys.
void write_merged(const ShardedModel &model, const std::string &path);

}  // namespace ember::gguf
