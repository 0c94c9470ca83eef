// ember-gguf split / merge: a model as shards of bounded size or tensor count, and back.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "common/cli.h"
#include "gguf/gguf_shards.h"
#include "gguf/shard_writer.h"

namespace ember::tools {

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
    gguf::SplitLimits limits;
    limits.max_tensors = max_tensors;
    limits.max_bytes = max_bytes;
    for (const std::string &path : gguf::write_split(*model, positional[1], limits))
        std::printf("wrote %s\n", path.c_str());
    return 0;
}

int merge_command(const std::vector<std::string> &args) {
    for (const std::string &a : args)
        if (!a.empty() && a[0] == '-') throw cli::UsageError("unknown option '" + a + "'");
    if (args.size() != 2) throw cli::UsageError("merge needs FIRST_SHARD and OUT");
    const auto model = gguf::ShardedModel::open(args[0]);
    gguf::write_merged(*model, args[1]);
    std::printf("%s: %zu tensors from %zu shards\n", args[1].c_str(), model->tensors().size(), model->n_shards());
    return 0;
}

}  // namespace ember::tools
