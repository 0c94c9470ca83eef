// ember-bench: prompt-processing and generation speed of models, measured the way llama-bench
// (and ../shared/peer's `peer bench`) measure them, so that the numbers can be set side by side.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/kv_options.h"
#include "core/error.h"
#include "model/kv_cache.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace {

using namespace ember;

const char *kUsage =
    "usage: ember-bench -m MODEL[,MODEL...] [-p N[,N...]] [-n N[,N...]] [-d N[,N...]] [-t N[,N...]] [-r N] [-ngl L]\n"
    "                   [-ctk T[,T...]] [-ctv T[,T...]] [-o md|json]\n"
    "\n"
    "One test per model x prompt size x generation length x depth x thread count x cache types. A test decodes a\n"
    "prompt of -p tokens as one batch (pp: prompt tokens / seconds), then -n tokens one decode at a\n"
    "time (tg: generated tokens / seconds), after -d tokens already in the context (decoded before\n"
    "the clock starts, as llama-bench's -d does; 0: an empty context); it is repeated -r times after one\n"
    "warm-up run and reports the median, minimum and maximum. Token ids are fixed pseudo-random\n"
    "values, as llama.cpp's peer bench uses, so both engines do the same work.\n"
    "\n"
    "options:\n"
    "  -m MODEL,...   GGUF models\n"
    "  -p N,...       prompt tokens (default 512; 0 skips pp)\n"
    "  -n N,...       generated tokens (default 128; 0 skips tg)\n"
    "  -d N,...       tokens in the context before the test (default 0)\n"
    "  -t N,...       threads (default 2)\n"
    "  -r N           repetitions (default 3)\n"
    "  -ctk T,...     KV cache type of the K rows: f16 (default), f32, bf16, q8_0, q4_0, q4_1, iq4_nl,\n"
    "                 q5_0, q5_1\n"
    "  -ctv T,...     of the V rows (default: as -ctk)\n"
    "  -ngl L         layers to offload (the last L; -1: all, with the output head); without a\n"
    "                 GPU backend a warning says so and everything runs on the CPU\n"
    "  -o md|json     a markdown table (default), or one JSON line per test with peer bench's keys:\n"
    "                 pp_tok_s pp_min pp_max tg_tok_s tg_min tg_max n_prompt n_gen threads reps\n"
    "                 engine model, and n_depth n_gpu_layers backend (where it ran) type_k type_v\n"
    "Exit status: 0 success, 1 failure (model, decode), 2 bad usage.\n";

struct Options {
    std::vector<std::string> models;
    std::vector<uint32_t> n_prompt{512}, n_gen{128}, n_depth{0}, threads{2};
    std::vector<TensorType> type_k{TensorType::F16}, type_v;  // -ctk, -ctv (empty: as -ctk)
    uint32_t reps = 3;
    bool json = false;
    int32_t n_gpu_layers = 0;
};

std::vector<std::string> split_list(const std::string &text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::vector<uint32_t> parse_list(const std::string &option, const std::string &text, uint32_t min) {
    std::vector<uint32_t> out;
    for (const std::string &item : split_list(text)) {
        const unsigned long long v = cli::parse_count(option, item);
        if (v < min || v > (1u << 20)) throw cli::UsageError(option + " value " + item + " is out of range");
        out.push_back(static_cast<uint32_t>(v));
    }
    if (out.empty()) throw cli::UsageError(option + " needs at least one value");
    return out;
}

// Returns false when the caller asked for help (already printed).
bool parse_args(int argc, char **argv, Options &o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return false;
        }
        if (i + 1 >= argc) throw cli::UsageError(a + " needs a value");
        const std::string v = argv[++i];
        if (a == "-m") {
            for (const std::string &m : split_list(v)) o.models.push_back(m);
        } else if (a == "-p") o.n_prompt = parse_list(a, v, 0);
        else if (a == "-n") o.n_gen = parse_list(a, v, 0);
        else if (a == "-d") o.n_depth = parse_list(a, v, 0);
        else if (a == "-t") o.threads = parse_list(a, v, 1);
        else if (a == "-r") o.reps = parse_list(a, v, 1).front();
        else if (a == "-ngl") o.n_gpu_layers = cli::parse_gpu_layers(a, v);
        else if (a == "-ctk" || a == "-ctv") {
            std::vector<TensorType> &types = a == "-ctk" ? o.type_k : o.type_v;
            types.clear();
            for (const std::string &item : split_list(v)) types.push_back(cli::parse_kv_type(a, item));
            if (types.empty()) throw cli::UsageError(a + " needs at least one type");
        }
        else if (a == "-o") {
            if (v != "md" && v != "json") throw cli::UsageError("-o takes md or json, not '" + v + "'");
            o.json = v == "json";
        } else throw cli::UsageError("unknown argument '" + a + "'");
    }
    if (o.models.empty()) throw cli::UsageError("-m MODEL is required");
    return true;
}

struct Stat {
    double median = 0, min = 0, max = 0;
};

Stat summarize(std::vector<double> v) {
    Stat s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    s.min = v.front();
    s.max = v.back();
    return s;
}

struct TestResult {
    std::string model;
    uint64_t size_bytes = 0, n_params = 0;
    uint32_t n_prompt = 0, n_gen = 0, n_depth = 0, threads = 0, reps = 0;
    std::string backends;     // e.g. "cpu" or "cpu+cuda": where the model's stages run
    uint32_t n_gpu_layers = 0;  // layers actually on the offload device
    model::KvTypes kv_types;
    bool has_pp = false, has_tg = false;
    Stat pp, tg;
    double load_s = 0.0;  // the model's load (mapping, placement, any repacking)
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check_decode(ember_status st) {
    if (st != EMBER_OK) fail(st, st == EMBER_ERR_CONTEXT_FULL ? "decode: the context is full" : "decode aborted");
}

TestResult run_test(const Model &model, const std::string &path, uint32_t np, uint32_t ng, uint32_t nd,
                    uint32_t threads, uint32_t reps, model::KvTypes kv_types) {
    const int32_t n_vocab = static_cast<int32_t>(model.n_vocab());
    SessionParams sp;
    sp.kv_types = kv_types;
    sp.n_ctx = nd + np + ng + 8;
    // The prompt is one micro-batch; the depth goes in pieces of at most 512 (llama-bench's).
    constexpr uint32_t kDepthPiece = 512;
    sp.n_ubatch = std::max({np, std::min(nd, kDepthPiece), 1u});
    sp.n_threads = static_cast<int>(threads);
    Session session(model, sp);

    std::vector<int32_t> prompt(np);
    for (uint32_t i = 0; i < np; ++i) prompt[i] = static_cast<int32_t>((static_cast<int64_t>(i) * 7919 + 13) % n_vocab);
    const Batch prompt_batch = Batch::sequence(prompt, static_cast<int32_t>(nd), 0);  // logits of the last row only
    // The depth: other pseudo-random tokens at positions [0, nd), in micro-batch-sized pieces.
    std::vector<Batch> depth_batches;
    for (uint32_t p0 = 0; p0 < nd; p0 += kDepthPiece) {
        std::vector<int32_t> piece(std::min(kDepthPiece, nd - p0));
        for (size_t i = 0; i < piece.size(); ++i)
            piece[i] = static_cast<int32_t>(((p0 + i) * 4099 + 17) % static_cast<uint64_t>(n_vocab));
        depth_batches.push_back(Batch::sequence(piece, static_cast<int32_t>(p0), 0));
    }

    std::vector<double> pp, tg;
    Batch one;
    for (int r = -1; r < static_cast<int>(reps); ++r) {  // r = -1 warms up caches and buffers
        session.clear();
        for (const Batch &b : depth_batches) check_decode(session.decode(b));
        const auto t0 = std::chrono::steady_clock::now();
        if (np > 0) check_decode(session.decode(prompt_batch));
        const double t_pp = seconds_since(t0);
        int32_t token = np > 0 ? prompt.back() % n_vocab : 1 % n_vocab;
        const auto t1 = std::chrono::steady_clock::now();
        for (uint32_t i = 0; i < ng; ++i) {
            one.clear();
            one.add(token, static_cast<int32_t>(nd + np + i), 0, true);
            check_decode(session.decode(one));
            token = static_cast<int32_t>((static_cast<int64_t>(token) * 31 + 7) % n_vocab);
        }
        const double t_tg = seconds_since(t1);
        if (r >= 0) {
            if (np > 0) pp.push_back(np / t_pp);
            if (ng > 0) tg.push_back(ng / t_tg);
        }
    }

    TestResult t;
    t.model = path;
    t.size_bytes = model.size_bytes();
    t.n_params = model.n_params();
    t.n_prompt = np;
    t.n_gen = ng;
    t.n_depth = nd;
    t.threads = threads;
    t.reps = reps;
    t.kv_types = kv_types;
    for (const backend::Backend *b : model.backends()) t.backends += (t.backends.empty() ? "" : "+") + std::string(b->name());
    for (int b : model.placement().layers) t.n_gpu_layers += b == kDeviceBackend;
    t.has_pp = np > 0;
    t.has_tg = ng > 0;
    t.pp = summarize(pp);
    t.tg = summarize(tg);
    return t;
}

std::string json_escape(const std::string &s) {
    std::string out;
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

void print_json(const TestResult &t) {
    std::string line = "{";
    char buf[256];
    auto stat = [&](const char *name, const Stat &s) {
        std::snprintf(buf, sizeof buf, "\"%s_tok_s\": %.2f, \"%s_min\": %.2f, \"%s_max\": %.2f, ", name, s.median, name,
                      s.min, name, s.max);
        line += buf;
    };
    if (t.has_pp) stat("pp", t.pp);
    if (t.has_tg) stat("tg", t.tg);
    std::snprintf(buf, sizeof buf, "\"n_prompt\": %u, \"n_gen\": %u, \"threads\": %u, \"reps\": %u, \"engine\": \"ember\", ",
                  t.n_prompt, t.n_gen, t.threads, t.reps);
    line += buf;
    std::snprintf(buf, sizeof buf, "\"n_depth\": %u, \"n_gpu_layers\": %u, \"backend\": \"%s\", \"load_s\": %.3f, ",
                  t.n_depth, t.n_gpu_layers, t.backends.c_str(), t.load_s);
    line += buf;
    std::snprintf(buf, sizeof buf, "\"type_k\": \"%s\", \"type_v\": \"%s\", ", model::kv_type_name(t.kv_types.k),
                  model::kv_type_name(t.kv_types.v));
    line += buf;
    line += "\"model\": \"" + json_escape(t.model) + "\"}";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::string base_name(const std::string &path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// with_types: the cache types get columns (llama-bench's type_k / type_v), shown when a test
// asks for other than f16.
void print_md_header(bool with_types) {
    std::printf("| model | size | params | backend | ngl | threads |%s test | t/s (median) | min | max |\n",
                with_types ? " type_k | type_v |" : "");
    std::printf("| --- | ---: | ---: | --- | ---: | ---: |%s --- | ---: | ---: | ---: |\n", with_types ? " --- | --- |" : "");
}

void print_md_rows(const TestResult &t, bool with_types) {
    const std::string types = with_types ? std::string(" ") + model::kv_type_name(t.kv_types.k) + " | " +
                                               model::kv_type_name(t.kv_types.v) + " |"
                                         : "";
    char size[32], params[32];
    std::snprintf(size, sizeof size, "%.2f MiB", static_cast<double>(t.size_bytes) / (1024.0 * 1024.0));
    std::snprintf(params, sizeof params, "%.2f M", static_cast<double>(t.n_params) / 1e6);
    auto row = [&](const char *kind, uint32_t n, const Stat &s) {
        const std::string depth = t.n_depth ? " @ d" + std::to_string(t.n_depth) : "";
        std::printf("| %s | %s | %s | %s | %u | %u |%s %s%u%s | %.2f | %.2f | %.2f |\n", base_name(t.model).c_str(), size,
                    params, t.backends.c_str(), t.n_gpu_layers, t.threads, types.c_str(), kind, n, depth.c_str(),
                    s.median, s.min, s.max);
    };
    if (t.has_pp) row("pp", t.n_prompt, t.pp);
    if (t.has_tg) row("tg", t.n_gen, t.tg);
    std::fflush(stdout);
}

int bench_main(int argc, char **argv) {
    Options o;
    if (!parse_args(argc, argv, o)) return cli::kExitOk;

    std::vector<model::KvTypes> kv_types;
    for (TensorType k : o.type_k) {
        if (o.type_v.empty()) kv_types.emplace_back(k);
        for (TensorType v : o.type_v) kv_types.emplace_back(k, v);
    }
    const bool with_types = kv_types.size() != 1 || !(kv_types.front() == model::KvTypes{});
    bool header = false;
    for (const std::string &path : o.models) {
        ModelParams mp;
        mp.n_gpu_layers = o.n_gpu_layers;
        const auto load_start = std::chrono::steady_clock::now();
        auto model = Model::load(path, mp);
        const double load_s = seconds_since(load_start);
        for (const std::string &w : model->warnings()) std::fprintf(stderr, "ember-bench: warning: %s\n", w.c_str());
        for (uint32_t threads : o.threads)
            for (uint32_t np : o.n_prompt)
                for (uint32_t ng : o.n_gen)
                    for (uint32_t nd : o.n_depth)
                        for (const model::KvTypes &types : kv_types) {
                            if (np == 0 && ng == 0) continue;
                            TestResult t = run_test(*model, path, np, ng, nd, threads, o.reps, types);
                            t.load_s = load_s;
                            if (o.json) {
                                print_json(t);
                            } else {
                                if (!header) print_md_header(with_types);
                                header = true;
                                print_md_rows(t, with_types);
                            }
                        }
    }
    return cli::kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
    return cli::run("ember-bench", kUsage, [&] { return bench_main(argc, argv); });
}
