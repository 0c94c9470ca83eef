// ember-quantize: converts a GGUF model's weight matrices to a quantization recipe's types.
#include <cstdio>
#include <string>
#include <vector>

#include "common/cli.h"
#include "core/tensor_type.h"
#include "quantize/quantize_model.h"
#include "quantize/quantize_recipe.h"

namespace {

using namespace ember;

std::string usage_text() {
    std::string u =
        "usage: ember-quantize IN.gguf OUT.gguf TYPE [--pure] [--override REGEX=TYPE]... [--allow-requantize] [-t N]\n"
        "\n"
        "TYPE is a recipe (per-tensor types chosen like llama.cpp's) or a base type:\n";
    for (const quantize::Recipe &r : quantize::recipes()) {
        char line[256];
        std::snprintf(line, sizeof line, "  %-7s %s\n", r.name, r.summary);
        u += line;
    }
    u +=
        "  Q3_K, Q4_K and Q5_K mean Q3_K_M, Q4_K_M and Q5_K_M.\n"
        "\n"
        "Rules every quantized recipe shares:\n"
        "  - only weight matrices (2-D or more, name ending in 'weight', not norms) change type;\n"
        "    1-D tensors (norms, biases, rope_freqs) are copied as they are (F32);\n"
        "  - output.weight (token_embd.weight when the output is tied to it) gets Q6_K, or Q8_0\n"
        "    for the Q8_0 recipe and when its rows do not fit 256-blocks; token_embd.weight\n"
        "    otherwise gets the base type;\n"
        "  - 'more-bits' layers are the first and last eighth of the blocks and every third\n"
        "    block between them;\n"
        "  - a row length that is not a whole number of the chosen type's blocks falls back:\n"
        "    Q2_K/Q3_K/IQ4_XS -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, else F16.\n"
        "\n"
        "options:\n"
        "  --pure               every weight matrix in the base type (no per-tensor rules)\n"
        "  --override REGEX=T   tensors whose name matches REGEX get type T (repeatable; first\n"
        "                       match wins), e.g. --override 'ffn_down=Q8_0'\n"
        "  --allow-requantize   accept an already quantized input (quality suffers)\n"
        "  -t N                 threads (default: all cores)\n"
        "general.file_type is set to the recipe's llama.cpp id.\n";
    return u;
}

std::string kib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
    return buf;
}

std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

std::string shape_text(const std::vector<uint64_t> &ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

int quantize_main(int argc, char **argv) {
    std::vector<std::string> positional;
    quantize::QuantizeParams params;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli::UsageError(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage_text().c_str(), stdout);
            return cli::kExitOk;
        } else if (a == "--pure") {
            params.pure = true;
        } else if (a == "--allow-requantize") {
            params.allow_requantize = true;
        } else if (a == "-t" || a == "--threads") {
            const unsigned long long n = cli::parse_count(a, value());
            if (n == 0 || n > 1024) throw cli::UsageError("-t needs 1..1024 threads");
            params.n_threads = static_cast<int>(n);
        } else if (a == "--override") {
            const std::string spec = value();
            const size_t eq = spec.rfind('=');
            if (eq == std::string::npos || eq == 0) throw cli::UsageError("--override needs REGEX=TYPE, got '" + spec + "'");
            TensorType type;
            if (!tensor_type_from_name(spec.substr(eq + 1), &type)) {
                throw cli::UsageError("--override: unknown tensor type '" + spec.substr(eq + 1) + "'");
            }
            params.overrides.push_back({spec.substr(0, eq), type});
        } else if (a.size() > 1 && a[0] == '-') {
            throw cli::UsageError("unknown option '" + a + "'");
        } else {
            positional.push_back(a);
        }
    }
    if (positional.size() != 3) throw cli::UsageError("expected IN.gguf OUT.gguf TYPE");
    params.input = positional[0];
    params.output = positional[1];
    params.type = positional[2];
    if (!quantize::find_recipe(params.type)) throw cli::UsageError("unknown type '" + params.type + "'");

    params.on_tensor = [](const quantize::TensorPlan &p, size_t index, size_t count) {
        std::fprintf(stderr, "[%4zu/%4zu] %-36s %-18s %6s -> %-6s %12s -> %-12s%s\n", index + 1, count,
                     p.name.c_str(), shape_text(p.ne).c_str(), tensor_type_name(p.from), tensor_type_name(p.to),
                     kib(p.bytes_in).c_str(), kib(p.bytes_out).c_str(), p.fell_back ? " (row length fallback)" : "");
    };
    const quantize::QuantizeResult r = quantize::quantize_model(params);
    std::fprintf(stderr, "%s: %s (%zu tensors) -> %s: tensor data %s -> %s (%.2fx smaller), general.file_type %u\n",
                 params.type.c_str(), params.input.c_str(), r.tensors.size(), params.output.c_str(),
                 mib(r.bytes_in).c_str(), mib(r.bytes_out).c_str(),
                 r.bytes_out ? static_cast<double>(r.bytes_in) / static_cast<double>(r.bytes_out) : 0.0,
                 static_cast<unsigned>(r.file_type));
    return cli::kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
    const std::string usage = usage_text();
    return ember::cli::run("ember-quantize", usage.c_str(), [&] { return quantize_main(argc, argv); });
}
