// ember-convert: a Hugging Face checkpoint directory to a GGUF file, without Python.
#include <cstdio>
#include <string>
#include <vector>

#include "common/cli.h"
#include "convert/convert_hf.h"
#include "core/tensor_type.h"

namespace {

using namespace ember;

const char kUsage[] =
    "usage: ember-convert HF_DIR -o OUT.gguf [--outtype f32|f16|bf16|q8_0|auto] [--name NAME]\n"
    "\n"
    "Converts a Hugging Face model directory (config.json, model.safetensors or the shards of\n"
    "model.safetensors.index.json, tokenizer.model or tokenizer.json, tokenizer_config.json)\n"
    "into one GGUF file. Architectures: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM.\n"
    "\n"
    "  -o, --outfile PATH  the GGUF file to write\n"
    "  --outtype TYPE      weight matrices as f32, f16, bf16 or q8_0; auto (default) keeps the\n"
    "                      checkpoint's precision (f16 for F16, bf16 for BF16, f32 for F32).\n"
    "                      1-D tensors (norms, biases) are always F32.\n"
    "  --name NAME         general.name (default: the directory's name)\n";

std::string shape_text(const std::vector<uint64_t> &ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

int convert_main(int argc, char **argv) {
    convert::ConvertParams params;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli::UsageError(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return cli::kExitOk;
        } else if (a == "-o" || a == "--outfile") {
            params.output = value();
        } else if (a == "--outtype") {
            const std::string t = value();
            if (!convert::parse_out_type(t, &params.out_type)) throw cli::UsageError("unknown --outtype '" + t + "'");
        } else if (a == "--name") {
            params.name = value();
        } else if (a.size() > 1 && a[0] == '-') {
            throw cli::UsageError("unknown option '" + a + "'");
        } else {
            positional.push_back(a);
        }
    }
    if (positional.size() != 1) throw cli::UsageError("expected one HF_DIR");
    if (params.output.empty()) throw cli::UsageError("missing -o OUT.gguf");
    params.input_dir = positional[0];
    params.log = [](const std::string &m) { std::fprintf(stderr, "%s\n", m.c_str()); };
    params.on_tensor = [](const convert::ConvertedTensor &t, size_t index, size_t count) {
        std::fprintf(stderr, "[%4zu/%4zu] %-44s -> %-28s %-16s %5s -> %s\n", index + 1, count,
                     t.source_name.empty() ? "(computed)" : t.source_name.c_str(), t.name.c_str(),
                     shape_text(t.ne).c_str(), tensor_type_name(t.source_type), tensor_type_name(t.type));
    };
    const convert::ConvertResult r = convert::convert_hf_model(params);
    std::fprintf(stderr, "wrote %s: %s, %zu tensors, %.2f MiB of tensor data, context %u, general.file_type %u\n",
                 params.output.c_str(), r.architecture.c_str(), r.tensors.size(),
                 static_cast<double>(r.n_bytes) / (1024.0 * 1024.0), r.context_length, r.file_type);
    return cli::kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
    return ember::cli::run("ember-convert", kUsage, [&] { return convert_main(argc, argv); });
}
