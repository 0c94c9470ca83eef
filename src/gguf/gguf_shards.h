// A model stored as one GGUF file or as split shards (`<prefix>-00001-of-00003.gguf`): opened
// from the first shard (or an explicit shard list), presented as one set of tensors. Only the
// first shard carries the model's metadata; every shard carries split.no / split.count.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/gguf_file.h"

namespace ember::gguf {

constexpr const char *kSplitNo = "split.no";                    // u16, 0-based shard index
constexpr const char *kSplitCount = "split.count";              // u16
constexpr const char *kSplitTensorsCount = "split.tensors.count";  // i32, tensors in all shards

// "<prefix>-00002-of-00005.gguf" for index 1 (0-based) of 5.
std::string shard_path(const std::string &prefix, uint32_t index, uint32_t count);
// Splits a shard path into prefix, 0-based index and count; false if it is not one.
bool parse_shard_path(const std::string &path, std::string *prefix, uint32_t *index, uint32_t *count);

class ShardedModel {
public:
    // Opens `path`; when it declares split.count > 1, also opens the sibling shards.
    static std::unique_ptr<ShardedModel> open(const std::string &path);
    // Opens exactly these shards, in order (first shard first).
    static std::unique_ptr<ShardedModel> open_shards(const std::vector<std::string> &paths);
    // A single-file model in a caller's buffer (must outlive the model).
    static std::unique_ptr<ShardedModel> from_buffer(const void *data, size_t size, const std::string &name);

    const File &metadata() const { return *shards_.front(); }  // the first shard
    size_t n_shards() const { return shards_.size(); }
    const File &shard(size_t i) const { return *shards_.at(i); }

    // All tensors, shard by shard in file order.
    const std::vector<const TensorInfo *> &tensors() const { return tensors_; }
    const TensorInfo *find_tensor(std::string_view name) const;
    const TensorInfo &tensor(std::string_view name) const;  // throws EMBER_ERR_NOT_FOUND
    uint64_t total_bytes() const;                           // sum of the shards' file sizes

    // Reads every mapped shard into memory and drops the mappings (use_mmap = false: for
    // file systems where mapping is slow or unreliable). Tensor pointers change.
    void copy_into_memory();
    // Pins the mapped shards in RAM; false when the OS refuses (see RLIMIT_MEMLOCK).
    bool lock_memory();

private:
    ShardedModel() = default;
    void index_and_validate();

    std::vector<std::unique_ptr<File>> shards_;
    std::vector<std::vector<uint8_t>> owned_bytes_;  // shard contents after copy_into_memory
    std::vector<const TensorInfo *> tensors_;
    std::unordered_map<std::string_view, const TensorInfo *> by_name_;
};

}  // namespace ember::gguf
