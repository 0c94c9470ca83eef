#include "gguf/shard_writer.h"

#include "core/error.h"
#include "gguf/gguf_writer.h"

namespace ember::gguf {

namespace {

bool is_split_key(std::string_view key) { return key.substr(0, 6) == "split."; }

void copy_metadata(const File &meta, Writer &w) {
    for (const auto &[key, value] : meta.metadata())
        if (!is_split_key(key)) w.set_value(key, value);
}

std::vector<std::vector<const TensorInfo *>> plan_shards(const ShardedModel &m, const SplitLimits &limits) {
    std::vector<std::vector<const TensorInfo *>> shards(1);
    uint64_t bytes = 0;
    for (const TensorInfo *t : m.tensors()) {
        const auto &cur = shards.back();
        const bool full = !cur.empty() && ((limits.max_tensors && cur.size() >= limits.max_tensors) ||
                                           (limits.max_bytes && bytes + t->n_bytes > limits.max_bytes));
        if (full) {
            shards.emplace_back();
            bytes = 0;
        }
        shards.back().push_back(t);
        bytes += t->n_bytes;
    }
    return shards;
}

}  // namespace

std::vector<std::string> write_split(const ShardedModel &model, const std::string &prefix, const SplitLimits &limits) {
    if (limits.max_tensors == 0 && limits.max_bytes == 0)
        fail(EMBER_ERR_INVALID_ARGUMENT, "split needs a tensor-count or size limit");
    const auto shards = plan_shards(model, limits);
    if (shards.size() > 65535) fail(EMBER_ERR_INVALID_ARGUMENT, "split would need more than 65535 shards");
    const uint32_t count = static_cast<uint32_t>(shards.size());
    const uint32_t alignment = model.metadata().alignment();
    std::vector<std::string> paths;
    for (uint32_t i = 0; i < count; ++i) {
        Writer w;
        if (i == 0) copy_metadata(model.metadata(), w);
        else if (alignment != kDefaultAlignment) w.set_alignment(alignment);
        w.set_u16(kSplitNo, static_cast<uint16_t>(i));
        w.set_u16(kSplitCount, static_cast<uint16_t>(count));
        w.set_i32(kSplitTensorsCount, static_cast<int32_t>(model.tensors().size()));
        for (const TensorInfo *t : shards[i]) w.add_tensor(*t);
        paths.push_back(shard_path(prefix, i, count));
        w.write_file(paths.back());
    }
    return paths;
}

void write_merged(const ShardedModel &model, const std::string &path) {
    Writer w;
    copy_metadata(model.metadata(), w);
    for (const TensorInfo *t : model.tensors()) w.add_tensor(*t);
    w.write_file(path);
}

}  // namespace ember::gguf
