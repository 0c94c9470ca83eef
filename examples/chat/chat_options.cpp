#include "chat_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace chat {

const char kUsage[] =
    "usage: ember-chat [-m MODEL] [options]\n"
    "  -m MODEL            GGUF model (default ../shared/models/stories260K.gguf)\n"
    "  -sys TEXT           system prompt\n"
    "  -p TEXT             answer one prompt and exit (non-interactive)\n"
    "  --no-chat           plain text completion, no chat template\n"
    "  --template NAME     use a built-in chat template (chatml, llama3, ...) instead of the model's\n"
    "  -n N                at most N tokens per reply (default: until the model ends its turn)\n"
    "  -c N                context size (default: the model's)\n"
    "  -t N                threads (default: all)\n"
    "  -ngl N              layers to offload to a GPU (the last N; -1: all)\n"
    "  -ctk, -ctv T        KV cache type of the K / V rows: f16 (default), f32, bf16, q8_0, q4_0, q4_1,\n"
    "                      iq4_nl, q5_0, q5_1 (-ctv defaults to -ctk; quantized: head size a multiple of 32)\n"
    "  --temp T --top-k K --top-p P --min-p P --repeat-penalty R --seed S   sampling (--temp 0: greedy)\n"
    "  --ignore-eos        keep generating past end-of-generation tokens (until -n or a full context)\n"
    "  --grammar FILE      constrain every reply to a GBNF grammar (start rule 'root')\n"
    "  --json-schema S     constrain every reply to JSON valid for a schema: a file, or the JSON itself\n"
    "                      when S starts with '{'; a reply cut by -n or the context before the grammar\n"
    "                      completed is an error (exit 1)\n"
    "  --verbose           report prompt and generation speed after each reply\n"
    "In a chat: /reset forgets the conversation, /exit (or end of input) quits, Ctrl-C stops a reply.\n";

namespace {

long long to_int(const std::string &opt, const std::string &v, long long lo, long long hi) {
    char *end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || x < lo || x > hi)
        throw std::invalid_argument(opt + " needs an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                    "], got '" + v + "'");
    return x;
}

int32_t to_kv_type(const std::string &opt, const std::string &v) {
    int32_t type = 0;
    if (ember_kv_type_from_name(v.c_str(), &type) != EMBER_OK) throw std::invalid_argument(opt + ": " + ember_last_error());
    return type;
}

float to_float(const std::string &opt, const std::string &v) {
    char *end = nullptr;
    const float x = std::strtof(v.c_str(), &end);
    if (v.empty() || *end || !std::isfinite(x)) throw std::invalid_argument(opt + " needs a number, got '" + v + "'");
    return x;
}

}  // namespace

bool parse_options(int argc, char **argv, Options &o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") return false;
        else if (a == "-m" || a == "--model") o.model = value();
        else if (a == "-sys" || a == "--system") o.system_prompt = value();
        else if (a == "-p" || a == "--prompt") o.prompt = value();
        else if (a == "--template") o.template_name = value();
        else if (a == "--no-chat") o.no_chat = true;
        else if (a == "--verbose") o.verbose = true;
        else if (a == "--grammar") o.grammar_file = value();
        else if (a == "--json-schema") o.json_schema = value();
        else if (a == "--ignore-eos") o.ignore_eos = true;
        else if (a == "-n") o.n_predict = static_cast<int32_t>(to_int(a, value(), -1, 1 << 30));
        else if (a == "-c") o.n_ctx = static_cast<uint32_t>(to_int(a, value(), 0, 1 << 24));
        else if (a == "-ctk" || a == "--cache-type-k") o.kv_type_k = to_kv_type(a, value());
        else if (a == "-ctv" || a == "--cache-type-v") o.kv_type_v = to_kv_type(a, value());
        else if (a == "-t") o.n_threads = static_cast<int32_t>(to_int(a, value(), 0, 1024));
        else if (a == "-ngl") o.n_gpu_layers = static_cast<int32_t>(to_int(a, value(), -1, 100000));
        else if (a == "--temp") o.sampling.temperature = to_float(a, value());
        else if (a == "--top-k") o.sampling.top_k = static_cast<int32_t>(to_int(a, value(), 0, 1 << 30));
        else if (a == "--top-p") o.sampling.top_p = to_float(a, value());
        else if (a == "--min-p") o.sampling.min_p = to_float(a, value());
        else if (a == "--repeat-penalty") o.sampling.penalty_repeat = to_float(a, value());
        else if (a == "--seed") o.sampling.seed = static_cast<uint32_t>(to_int(a, value(), 0, UINT32_MAX));
        else throw std::invalid_argument("unknown option '" + a + "'");
    }
    if (!o.grammar_file.empty() && !o.json_schema.empty())
        throw std::invalid_argument("--grammar and --json-schema cannot be combined");
    return true;
}

}  // namespace chat
