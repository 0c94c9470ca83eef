#include "gguf/gguf_shards.h"

#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace ember::gguf {

std::string shard_path(const std::string &prefix, uint32_t index, uint32_t count) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "-%05u-of-%05u.gguf", index + 1, count);
    return prefix + suffix;
}

bool parse_shard_path(const std::string &path, std::string *prefix, uint32_t *index, uint32_t *count) {
    // "-NNNNN-of-NNNNN.gguf" is 20 characters.
    constexpr size_t kSuffix = 20;
    if (path.size() < kSuffix) return false;
    const std::string tail = path.substr(path.size() - kSuffix);
    unsigned no = 0, total = 0;
    char end[8] = {0};
    if (std::sscanf(tail.c_str(), "-%5u-of-%5u%5s", &no, &total, end) != 3 || std::strcmp(end, ".gguf") != 0)
        return false;
    if (no == 0 || total == 0 || no > total) return false;
    *prefix = path.substr(0, path.size() - kSuffix);
    *index = no - 1;
    *count = total;
    return true;
}

std::unique_ptr<ShardedModel> ShardedModel::open(const std::string &path) {
    std::unique_ptr<ShardedModel> m(new ShardedModel());
    m->shards_.push_back(File::open(path));
    const File &first = *m->shards_.front();
    const uint32_t count = first.get_u32_or(kSplitCount, 1);
    if (count > 1) {
        if (first.get_u32_or(kSplitNo, 0) != 0)
            fail(EMBER_ERR_INVALID_ARGUMENT, path + ": is shard " + std::to_string(first.get_u32(kSplitNo) + 1) + " of " +
                                                 std::to_string(count) + "; open the first shard");
        std::string prefix;
        uint32_t index = 0, named_count = 0;
        if (!parse_shard_path(path, &prefix, &index, &named_count))
            fail(EMBER_ERR_BAD_FORMAT, path + ": declares " + std::to_string(count) +
                                           " shards but its name is not <prefix>-00001-of-NNNNN.gguf");
        for (uint32_t i = 1; i < count; ++i) {
            const std::string p = shard_path(prefix, i, count);
            try {
                m->shards_.push_back(File::open(p));
            } catch (const Error &e) {
                fail(e.status(), "shard " + std::to_string(i + 1) + " of " + std::to_string(count) + " of " + path +
                                     " could not be opened: " + e.what());
            }
        }
    }
    m->index_and_validate();
    return m;
}

std::unique_ptr<ShardedModel> ShardedModel::open_shards(const std::vector<std::string> &paths) {
    if (paths.empty()) fail(EMBER_ERR_INVALID_ARGUMENT, "no shard paths given");
    std::unique_ptr<ShardedModel> m(new ShardedModel());
    for (const std::string &p : paths) m->shards_.push_back(File::open(p));
    m->index_and_validate();
    return m;
}

std::unique_ptr<ShardedModel> ShardedModel::from_buffer(const void *data, size_t size, const std::string &name) {
    std::unique_ptr<ShardedModel> m(new ShardedModel());
    m->shards_.push_back(File::from_buffer(data, size, name));
    m->index_and_validate();
    return m;
}

void ShardedModel::copy_into_memory() {
    for (auto &shard : shards_) {
        if (!shard->mapping()) continue;  // already in memory (a caller's buffer or a copy)
        std::vector<uint8_t> bytes(shard->bytes(), shard->bytes() + shard->size());
        auto copy = File::from_buffer(bytes.data(), bytes.size(), shard->name());
        owned_bytes_.push_back(std::move(bytes));  // the vector's heap block does not move
        shard = std::move(copy);
    }
    tensors_.clear();
    by_name_.clear();
    index_and_validate();
}

bool ShardedModel::lock_memory() {
    bool ok = true;
    for (auto &shard : shards_)
        if (shard->mapping()) ok = shard->mapping()->lock() && ok;
    return ok;
}

void ShardedModel::index_and_validate() {
    const File &first = *shards_.front();
    const uint32_t count = first.get_u32_or(kSplitCount, 1);
    if (count == 0) fail(EMBER_ERR_BAD_FORMAT, first.name() + ": split.count is 0");
    if (count != shards_.size())
        fail(EMBER_ERR_BAD_FORMAT, first.name() + ": split.count says " + std::to_string(count) + " shards but " +
                                       std::to_string(shards_.size()) + " were given");
    for (size_t i = 0; i < shards_.size(); ++i) {
        const File &s = *shards_[i];
        if (count > 1) {
            const uint32_t no = s.get_u32_or(kSplitNo, UINT32_MAX);
            const uint32_t c = s.get_u32_or(kSplitCount, 0);
            if (no != i || c != count)
                fail(EMBER_ERR_BAD_FORMAT, s.name() + ": expected shard " + std::to_string(i + 1) + " of " +
                                               std::to_string(count) + " but it says split.no=" +
                                               (no == UINT32_MAX ? std::string("(missing)") : std::to_string(no)) +
                                               ", split.count=" + std::to_string(c));
        }
        for (const TensorInfo &t : s.tensors()) {
            if (!by_name_.emplace(t.name, &t).second)
                fail(EMBER_ERR_BAD_FORMAT, s.name() + ": tensor '" + std::string(t.name) + "' also appears in an earlier shard");
            tensors_.push_back(&t);
        }
    }
    if (count > 1 && first.has(kSplitTensorsCount)) {
        const int32_t expected = first.get_i32(kSplitTensorsCount);
        if (expected < 0 || static_cast<size_t>(expected) != tensors_.size())
            fail(EMBER_ERR_BAD_FORMAT, first.name() + ": split.tensors.count is " + std::to_string(expected) + " but the " +
                                           std::to_string(count) + " shards hold " + std::to_string(tensors_.size()) +
                                           " tensors");
    }
}

const TensorInfo *ShardedModel::find_tensor(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

const TensorInfo &ShardedModel::tensor(std::string_view name) const {
    const TensorInfo *t = find_tensor(name);
    if (!t) fail(EMBER_ERR_NOT_FOUND, metadata().name() + ": tensor '" + std::string(name) + "' not found");
    return *t;
}

uint64_t ShardedModel::total_bytes() const {
    uint64_t total = 0;
    for (const auto &s : shards_) total += s->size();
    return total;
}

}  // namespace ember::gguf
