/* The layout of every public struct on LP64 platforms (x86-64, AArch64), asserted at compile
   time in C99: changing one of these numbers breaks every compiled caller, so a failure here
   means a new ABI major version, not a quick fix. The program also checks at run time that
   the library's own idea of each struct's size matches the header's. */
#include <ember/ember.h>
#include <stddef.h>
#include <stdio.h>

#define LAYOUT(name, cond) typedef char layout_##name[(cond) ? 1 : -1]

#if defined(__LP64__) || defined(_LP64)
LAYOUT(model_params_size, sizeof(ember_model_params) == 32);
LAYOUT(model_params_ngl, offsetof(ember_model_params, n_gpu_layers) == 4);
LAYOUT(model_params_mmap, offsetof(ember_model_params, use_mmap) == 8);
LAYOUT(model_params_progress, offsetof(ember_model_params, progress_callback) == 16);
LAYOUT(model_params_progress_ud, offsetof(ember_model_params, progress_user_data) == 24);

LAYOUT(session_params_size, sizeof(ember_session_params) == 48);
LAYOUT(session_params_n_ctx, offsetof(ember_session_params, n_ctx) == 4);
LAYOUT(session_params_kv, offsetof(ember_session_params, kv_type) == 20);
LAYOUT(session_params_emb, offsetof(ember_session_params, embeddings) == 24);
LAYOUT(session_params_kv_v, offsetof(ember_session_params, kv_type_v) == 25);  /* in what was padding */
LAYOUT(session_params_pool, offsetof(ember_session_params, pooling) == 28);
LAYOUT(session_params_kv_width, sizeof(((ember_session_params *)0)->kv_type) == 4);
LAYOUT(session_params_pool_width, sizeof(((ember_session_params *)0)->pooling) == 4);
LAYOUT(session_params_abort, offsetof(ember_session_params, abort_callback) == 32);

LAYOUT(batch_size, sizeof(ember_batch) == 40);
LAYOUT(batch_tokens, offsetof(ember_batch, tokens) == 8);
LAYOUT(batch_out, offsetof(ember_batch, want_output) == 32);

LAYOUT(sampler_params_size, sizeof(ember_sampler_params) == 44);
LAYOUT(sampler_params_presence, offsetof(ember_sampler_params, penalty_presence) == 40);

LAYOUT(generate_params_size, sizeof(ember_generate_params) == 56);
LAYOUT(generate_params_sampler, offsetof(ember_generate_params, sampler) == 16);
LAYOUT(generate_params_stop, offsetof(ember_generate_params, stop) == 24);
LAYOUT(generate_params_cb, offsetof(ember_generate_params, callback) == 40);

LAYOUT(generate_result_size, sizeof(ember_generate_result) == 32);
LAYOUT(generate_result_prompt_s, offsetof(ember_generate_result, prompt_seconds) == 16);
LAYOUT(generate_result_stop_width, sizeof(((ember_generate_result *)0)->stop_reason) == 4);

LAYOUT(chat_message_size, sizeof(ember_chat_message) == 16);
LAYOUT(token_size, sizeof(ember_token) == 4);
LAYOUT(status_size, sizeof(ember_status) == 4);
#endif

static int check(const char *name, size_t library, size_t header) {
    if (library == header) return 0;
    fprintf(stderr, "%s: library says %zu bytes, header %zu\n", name, library, header);
    return 1;
}

int main(void) {
    int bad = 0;
    bad += check("ember_model_params", ember_model_default_params().struct_size, sizeof(ember_model_params));
    bad += check("ember_session_params", ember_session_default_params().struct_size, sizeof(ember_session_params));
    bad += check("ember_sampler_params", ember_sampler_default_params().struct_size, sizeof(ember_sampler_params));
    bad += check("ember_generate_params", ember_generate_default_params().struct_size, sizeof(ember_generate_params));
    bad += check("ember_batch", ember_batch_simple(NULL, 0).struct_size, sizeof(ember_batch));
    if (!bad) printf("public struct layouts: ok\n");
    return bad ? 1 : 0;
}
