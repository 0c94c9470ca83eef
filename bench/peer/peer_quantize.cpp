// llama.cpp's quantizer as its users call it (llama_model_quantize, default parameters, no
// importance matrix), for timing beside ember-quantize on the same F16 file.
// usage: peer-quantize IN.gguf OUT.gguf TYPE [-t N]   (TYPE: Q4_0 Q8_0 Q4_K_M Q5_K_M Q6_K IQ4_XS)
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "peer_common.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: peer-quantize IN.gguf OUT.gguf TYPE [-t N]\n");
        return 2;
    }
    static const struct {
        const char *name;
        llama_ftype ftype;
    } kTypes[] = {{"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
                  {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M},
                  {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"IQ4_XS", LLAMA_FTYPE_MOSTLY_IQ4_XS}};
    llama_model_quantize_params params = llama_model_quantize_default_params();
    bool known = false;
    for (const auto &t : kTypes)
        if (!std::strcmp(t.name, argv[3])) {
            params.ftype = t.ftype;
            known = true;
        }
    if (!known) {
        std::fprintf(stderr, "peer-quantize: unknown type %s\n", argv[3]);
        return 2;
    }
    params.nthread = std::atoi(peer::text_option(argc, argv, 4, "-t", "0"));
    llama_backend_init();
    return llama_model_quantize(argv[1], argv[2], &params) == 0 ? 0 : 1;
}
