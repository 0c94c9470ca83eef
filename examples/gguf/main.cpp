// ember-gguf: inspect, split, merge and dequantize GGUF files.
#include <cstring>
#include <string>
#include <vector>

#include "common/cli.h"
#include "commands.h"

static const char kUsage[] =
    "usage: ember-gguf <command> ...\n"
    "  info FILE [--ctx N] [--ngl L] [-ctk T] [-ctv T] [--json]\n"
    "      metadata, tensor table, totals and a memory estimate for context N with the last L\n"
    "      layers offloaded to a GPU and a KV cache of K / V row types T (f16 by default, f32, bf16,\n"
    "      q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1; -ctv defaults to -ctk)\n"
    "  split (--max-tensors N | --max-size SIZE) IN OUT_PREFIX\n"
    "      writes OUT_PREFIX-00001-of-0000K.gguf ... (SIZE like 500M or 2G)\n"
    "  merge FIRST_SHARD OUT\n"
    "      reassembles a split model into one file\n"
    "  dequant FILE TENSOR_NAME > out.f32\n"
    "      the tensor as raw little-endian float32, row-major\n";

int main(int argc, char **argv) {
    return ember::cli::run("ember-gguf", kUsage, [&]() -> int {
        if (argc < 2) throw ember::cli::UsageError("missing command");
        const std::string command = argv[1];
        if (command == "-h" || command == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        const std::vector<std::string> args(argv + 2, argv + argc);
        if (command == "info") return ember::tools::info_command(args);
        if (command == "split") return ember::tools::split_command(args);
        if (command == "merge") return ember::tools::merge_command(args);
        if (command == "dequant") return ember::tools::dequant_command(args);
        throw ember::cli::UsageError("unknown command '" + command + "'");
    });
}
