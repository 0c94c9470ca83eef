// ember-gguf dequant: a tensor as raw little-endian float32 on stdout, row-major.
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "commands.h"
#include "common/cli.h"
#include "core/error.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_shards.h"

namespace ember::tools {

int dequant_command(const std::vector<std::string> &args) {
    for (const std::string &a : args)
        if (!a.empty() && a[0] == '-') throw cli::UsageError("unknown option '" + a + "'");
    if (args.size() != 2) throw cli::UsageError("dequant needs FILE and TENSOR_NAME");
    const auto model = gguf::ShardedModel::open(args[0]);
    const gguf::TensorInfo &t = model->tensor(args[1]);
    if (isatty(STDOUT_FILENO)) throw cli::UsageError("dequant writes binary data: redirect stdout to a file");
    const cpu::TypeTraits *traits = cpu::type_traits(t.type);
    if (!traits || !traits->dequantize_row)
        fail(EMBER_ERR_UNSUPPORTED, "tensor '" + std::string(t.name) + "' has type " + tensor_type_name(t.type) +
                                        ", which Ember cannot dequantize");
    const uint64_t n = t.ne[0];
    std::vector<float> row(n);
    for (uint64_t r = 0; r < t.n_rows(); ++r) {
        traits->dequantize_row(t.data + r * t.row_bytes(), row.data(), static_cast<int64_t>(n));
        if (std::fwrite(row.data(), sizeof(float), n, stdout) != n) fail(EMBER_ERR_IO, "writing to stdout failed");
    }
    if (std::fflush(stdout) != 0) fail(EMBER_ERR_IO, "writing to stdout failed");
    return 0;
}

}  // namespace ember::tools
