// ember-gguf dequant: a tensor as raw little-endian float32 on stdout, row-major.
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "commands.h"
#include "common/cli.h"
#include "core/half.h"
#include "gguf/gguf_shards.h"

namespace ember::tools {

namespace {
// Converts one row of `n` values; throws for types without a float conversion.
void dequantize_row(const gguf::TensorInfo &t, const uint8_t *row, float *out, uint64_t n) {
    switch (t.type) {
        case TensorType::F32:
            std::memcpy(out, row, n * sizeof(float));
            return;
        case TensorType::F16:
        case TensorType::BF16:
            for (uint64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, row + 2 * i, 2);
                out[i] = t.type == TensorType::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
            }
            return;
        default:
            fail(EMBER_ERR_UNSUPPORTED, "tensor '" + std::string(t.name) + "' has type " + tensor_type_name(t.type) +
                                            ", which ember-gguf cannot dequantize yet");
    }
}
}  // namespace

int dequant_command(const std::vector<std::string> &args) {
    for (const std::string &a : args)
        if (!a.empty() && a[0] == '-') throw cli::UsageError("unknown option '" + a + "'");
    if (args.size() != 2) throw cli::UsageError("dequant needs FILE and TENSOR_NAME");
    const auto model = gguf::ShardedModel::open(args[0]);
    const gguf::TensorInfo &t = model->tensor(args[1]);
    if (isatty(STDOUT_FILENO)) throw cli::UsageError("dequant writes binary data: redirect stdout to a file");
    const uint64_t n = t.ne[0];
    std::vector<float> row(n);
    for (uint64_t r = 0; r < t.n_rows(); ++r) {
        dequantize_row(t, t.data + r * t.row_bytes(), row.data(), n);
        if (std::fwrite(row.data(), sizeof(float), n, stdout) != n) fail(EMBER_ERR_IO, "writing to stdout failed");
    }
    if (std::fflush(stdout) != 0) fail(EMBER_ERR_IO, "writing to stdout failed");
    return 0;
}

}  // namespace ember::tools
