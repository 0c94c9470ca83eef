// ember-gguf split / merge: a model as shards of bounded size or tensor count, and back.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "common/cli.h"
#include "gguf/gguf_shards.h"
#include "gguf/gguf_writer.h"

namespace ember::tools {

namespace {

bool is_split_key(std::string_view key) { return key.substr(0, 6) == "split."; }

// Copies the model's metadata except the split.* keys.
void copy_metadata(const gguf::File &meta, gguf::Writer &w) {
    for (const auto &[key, value] : meta.metadata())
        if (!is_split_key(key)) w.set_value(key, value);
}

// Groups tensors into shards: a new shard starts when adding a tensor would pass either
// limit (0 = no limit); a tensor larger than max_bytes gets a shard of its own.
std::vector<std::vector<const gguf::TensorInfo *>> plan_shards(const gguf::ShardedModel &m, uint64_t max_tensors,
                                                               uint64_t max_bytes) {
    std::vector<std::vector<const gguf::TensorInfo *>> shards(1);
    uint64_t bytes = 0;
    for (const gguf::TensorInfo *t : m.tensors()) {
        auto &cur = shards.back();
        const bool full = !cur.empty() && ((max_tensors && cur.size() >= max_tensors) ||
                                           (max_bytes && bytes + t->n_bytes > max_bytes));
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

int split_command(const std::vector<std::string> &args) {
    uint64_t max_tensors = 0, max_bytes = 0;
    std::vector<std::string> positional;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        auto value = [&]() -> const std::string & {
            if (i + 1 >= args.size()) throw cli::UsageError(a + " needs a value");
            return args[++i];
        };
        if (a == "--max-tensors") max_tensors = cli::parse_count(a, value());
        else if (a == "--max-size") max_bytes = cli::parse_size(a, value());
        else if (!a.empty() && a[0] == '-') throw cli::UsageError("unknown option '" + a + "'");
        else positional.push_back(a);
    }
    if ((max_tensors == 0) == (max_bytes == 0)) throw cli::UsageError("split needs exactly one of --max-tensors N (N > 0) or --max-size SIZE");
    if (positional.size() != 2) throw cli::UsageError("split needs IN and OUT_PREFIX");

    const auto model = gguf::ShardedModel::open(positional[0]);
    const auto shards = plan_shards(*model, max_tensors, max_bytes);
    if (shards.size() > 99999) fail(EMBER_ERR_INVALID_ARGUMENT, "split would need more than 99999 shards");
    const uint32_t count = static_cast<uint32_t>(shards.size());
    const uint32_t alignment = model->metadata().alignment();
    for (uint32_t i = 0; i < count; ++i) {
        gguf::Writer w;
        if (i == 0) copy_metadata(model->metadata(), w);
        else if (alignment != gguf::kDefaultAlignment) w.set_alignment(alignment);
        w.set_u16(gguf::kSplitNo, static_cast<uint16_t>(i));
        w.set_u16(gguf::kSplitCount, static_cast<uint16_t>(count));
        w.set_i32(gguf::kSplitTensorsCount, static_cast<int32_t>(model->tensors().size()));
        for (const gguf::TensorInfo *t : shards[i]) w.add_tensor(*t);
        const std::string path = gguf::shard_path(positional[1], i, count);
        w.write_file(path);
        std::printf("%s: %zu tensors\n", path.c_str(), shards[i].size());
    }
    return 0;
}

int merge_command(const std::vector<std::string> &args) {
    for (const std::string &a : args)
        if (!a.empty() && a[0] == '-') throw cli::UsageError("unknown option '" + a + "'");
    if (args.size() != 2) throw cli::UsageError("merge needs FIRST_SHARD and OUT");
    const auto model = gguf::ShardedModel::open(args[0]);
    gguf::Writer w;
    copy_metadata(model->metadata(), w);
    for (const gguf::TensorInfo *t : model->tensors()) w.add_tensor(*t);
    w.write_file(args[1]);
    std::printf("%s: %zu tensors from %zu shards\n", args[1].c_str(), model->tensors().size(), model->n_shards());
    return 0;
}

}  // namespace ember::tools
