// What Ember's llama.cpp programs (peer_depth.cpp, peer_kv.cpp) share: options and llama.cpp's
// KV cache type names.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

namespace peer {

// The value after `name` in argv[first..], or fallback.
inline const char *text_option(int argc, char **argv, int first, const char *name, const char *fallback) {
    for (int i = first; i + 1 < argc; ++i)
        if (!std::strcmp(argv[i], name)) return argv[i + 1];
    return fallback;
}

// A KV cache type by llama.cpp's -ctk name (the set Ember has); exits 2 for another name.
inline ggml_type cache_type(const char *name) {
    static const struct {
        const char *name;
        ggml_type type;
    } kTypes[] = {{"f32", GGML_TYPE_F32},   {"f16", GGML_TYPE_F16},   {"bf16", GGML_TYPE_BF16},
                  {"q8_0", GGML_TYPE_Q8_0}, {"q4_0", GGML_TYPE_Q4_0}, {"q4_1", GGML_TYPE_Q4_1},
                  {"iq4_nl", GGML_TYPE_IQ4_NL}, {"q5_0", GGML_TYPE_Q5_0}, {"q5_1", GGML_TYPE_Q5_1}};
    for (const auto &t : kTypes)
        if (!std::strcmp(t.name, name)) return t.type;
    std::fprintf(stderr, "unknown KV cache type %s\n", name);
    std::exit(2);
}

// llama.cpp's backends (its CPU variants, AVX2, AVX-512, ..., are loadable libraries in the
// peer's directory) and the model at `path` on the CPU; exits 1 when it does not load.
inline llama_model *load_model(const char *program, const char *path) {
    llama_backend_init();
    if (const char *dir = std::getenv("PEER_BACKENDS")) ggml_backend_load_all_from_path(dir);
    else ggml_backend_load_all();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) {
        std::fprintf(stderr, "%s: cannot load %s\n", program, path);
        std::exit(1);
    }
    return model;
}

}  // namespace peer
