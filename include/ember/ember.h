/*
 * Ember: embeddable large-language-model inference from GGUF files.
 *
 * This is the only public header. It is C99 and keeps its ABI stable:
 *  - every object is an opaque handle;
 *  - every call returns an ember_status; ember_last_error() gives the calling thread's
 *    message for the last failure;
 *  - params structs begin with `uint32_t struct_size` and new fields only go at the end;
 *  - no C++ exception, abort or exit ever crosses this boundary.
 *
 * Ownership: every *_create / *_load returns an object the caller frees with the matching
 * *_free (NULL is accepted and ignored). On failure they set *out to NULL, whatever failed (a
 * NULL `out` itself is EMBER_ERR_INVALID_ARGUMENT). Other output parameters are written only
 * on success unless a function's comment says otherwise. Strings returned as `const char *`
 * stay valid while their object lives. Functions that fill a caller's buffer take its capacity
 * and report the size needed (without the terminating NUL); when it is too small they write
 * nothing past it and return EMBER_ERR_BUFFER_TOO_SMALL.
 *
 * Struct fields that hold an enum's values are int32_t: their size and signedness do not
 * depend on how a compiler represents the enum. Compare them with the enum's constants.
 *
 * Threads: a model is immutable after loading and may be shared by any number of sessions on
 * any threads; a session (and a sampler) must be used by one thread at a time. The log
 * callback is process-wide and may be called from any thread.
 */
#ifndef EMBER_EMBER_H
#define EMBER_EMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(EMBER_BUILDING)
#    define EMBER_API __declspec(dllexport)
#  else
#    define EMBER_API __declspec(dllimport)
#  endif
#else
#  define EMBER_API __attribute__((visibility("default")))
#endif

/* Library version. The ABI major version changes only for incompatible changes. */
#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0
#define EMBER_VERSION_STRING "0.1.0"
#define EMBER_VERSION_NUMBER (EMBER_VERSION_MAJOR * 1000000 + EMBER_VERSION_MINOR * 1000 + EMBER_VERSION_PATCH)

/* Result of every call. New codes may be added at the end; unknown codes are failures. */
typedef enum ember_status {
    EMBER_OK = 0,
    EMBER_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, a bad parameter or an out-of-range value */
    EMBER_ERR_IO = 2,               /* a file could not be opened, mapped or written */
    EMBER_ERR_BAD_FORMAT = 3,       /* malformed, truncated or unsupported file contents */
    EMBER_ERR_UNSUPPORTED = 4,      /* a valid request this build cannot serve */
    EMBER_ERR_OUT_OF_MEMORY = 5,
    EMBER_ERR_NOT_FOUND = 6,        /* a key, tensor or file that does not exist */
    EMBER_ERR_CONTEXT_FULL = 7,     /* the KV cache has no room for the batch */
    EMBER_ERR_ABORTED = 8,          /* a callback asked to stop */
    EMBER_ERR_INTERNAL = 9,
    EMBER_ERR_BUFFER_TOO_SMALL = 10 /* the output did not fit; the needed size was reported */
} ember_status;

/* The version this library was built as: EMBER_VERSION_NUMBER of its header. */
EMBER_API uint32_t ember_version(void);
/* The version as "MAJOR.MINOR.PATCH"; static storage. */
EMBER_API const char *ember_version_string(void);

/* A short English description of a status code; static storage, never NULL. */
EMBER_API const char *ember_status_string(ember_status status);

/* The message of the last failed call on this thread ("" if none); valid until the next
   Ember call on the same thread. */
EMBER_API const char *ember_last_error(void);

/* A one-line description of the CPU features and the kernel level in use; static storage. */
EMBER_API const char *ember_system_info(void);


/* ---------------------------------------------------------------------------------------- */
/* Logging: quiet by default.                                                              */

typedef enum ember_log_level {
    EMBER_LOG_DEBUG = 0,
    EMBER_LOG_INFO = 1,
    EMBER_LOG_WARN = 2,
    EMBER_LOG_ERROR = 3,
    EMBER_LOG_NONE = 4
} ember_log_level;

typedef void (*ember_log_callback)(ember_log_level level, const char *message, void *user_data);

/* Sends messages of `min_level` and above to `callback` (NULL: silence). Process-wide. */
EMBER_API void ember_set_log_callback(ember_log_callback callback, ember_log_level min_level, void *user_data);
/* A ready callback that writes "ember: <level>: <message>" lines to stderr. */
EMBER_API void ember_log_to_stderr(ember_log_level level, const char *message, void *user_data);

/* ---------------------------------------------------------------------------------------- */
/* Models                                                                                   */

typedef struct ember_model ember_model;
typedef int32_t ember_token;

/* Called during loading with a non-decreasing progress in [0, 1]: once the file is parsed,
   after each tensor is placed (uploaded to the device, for offloaded layers), and with 1 when
   the model is ready. Return false to cancel: the load fails with EMBER_ERR_ABORTED and
   frees what it allocated. */
typedef bool (*ember_progress_callback)(float progress, void *user_data);

typedef struct ember_model_params {
    uint32_t struct_size;         /* sizeof(ember_model_params) */
    int32_t n_gpu_layers;         /* the last N layers go to the GPU; N > n_layer or -1: all of
                                     them and the output head; without a GPU backend: warning, CPU */
    bool use_mmap;                /* map the file (default) instead of reading it into memory */
    bool use_mlock;               /* pin the weights in RAM (a warning when the OS refuses) */
    bool vocab_only;              /* load only the tokenizer and metadata */
    ember_progress_callback progress_callback;
    void *progress_user_data;
} ember_model_params;

EMBER_API ember_model_params ember_model_default_params(void);

/* Loads a model from a GGUF file; a split model loads from its first shard
   (<prefix>-00001-of-0000N.gguf). On success *out owns the model (ember_model_free); on
   failure *out is NULL and ember_last_error() says why. params may be NULL (defaults). */
EMBER_API ember_status ember_model_load(const char *path, const ember_model_params *params, ember_model **out);
/* Loads a split model from an explicit list of shard paths, first shard first; *out as for
   ember_model_load. */
EMBER_API ember_status ember_model_load_shards(const char *const *paths, size_t n_paths,
                                               const ember_model_params *params, ember_model **out);
/* Loads from a caller's memory (a whole GGUF file), which must outlive the model; *out as
   for ember_model_load. */
EMBER_API ember_status ember_model_load_from_buffer(const void *data, size_t size, const ember_model_params *params,
                                                    ember_model **out);
EMBER_API void ember_model_free(ember_model *model);

/* Facts; 0 / NULL for a NULL model. */
EMBER_API const char *ember_model_arch(const ember_model *model);        /* "llama", "qwen2", ... */
EMBER_API uint64_t ember_model_n_params(const ember_model *model);
EMBER_API uint64_t ember_model_size(const ember_model *model);           /* bytes of all tensors */
EMBER_API int32_t ember_model_n_ctx_train(const ember_model *model);
EMBER_API int32_t ember_model_n_embd(const ember_model *model);
EMBER_API int32_t ember_model_n_layer(const ember_model *model);
EMBER_API int32_t ember_model_n_vocab(const ember_model *model);
/* The Jinja source of tokenizer.chat_template, or NULL when the model has none. */
EMBER_API const char *ember_model_chat_template(const ember_model *model);

/* Any metadata value by key, rendered as text (numbers in decimal, arrays as [a, b, ...]);
   EMBER_ERR_NOT_FOUND when absent. */
EMBER_API ember_status ember_model_meta(const ember_model *model, const char *key, char *buf, size_t buf_size,
                                        size_t *needed);
EMBER_API int32_t ember_model_meta_count(const ember_model *model);
EMBER_API ember_status ember_model_meta_key(const ember_model *model, int32_t index, char *buf, size_t buf_size,
                                            size_t *needed);

/* ---------------------------------------------------------------------------------------- */
/* Vocabulary                                                                               */

/* Text -> tokens. add_special: BOS/EOS as the model wants them; parse_special: the text of
   special tokens (e.g. "<|im_start|>") becomes their ids. Writes up to max_tokens ids and
   sets *n_tokens to the full count (EMBER_ERR_BUFFER_TOO_SMALL when it exceeds max_tokens). */
EMBER_API ember_status ember_tokenize(const ember_model *model, const char *text, size_t text_len, bool add_special,
                                      bool parse_special, ember_token *tokens, int32_t max_tokens, int32_t *n_tokens);
/* The bytes of one token (may be part of a UTF-8 character). NUL-terminated when it fits. */
EMBER_API ember_status ember_token_to_piece(const ember_model *model, ember_token token, bool render_special, char *buf,
                                            size_t buf_size, size_t *needed);
/* Tokens -> text. NUL-terminated when it fits. */
EMBER_API ember_status ember_detokenize(const ember_model *model, const ember_token *tokens, int32_t n_tokens,
                                        bool render_special, char *buf, size_t buf_size, size_t *needed);
/* Special tokens; -1 when the model has none. */
EMBER_API ember_token ember_token_bos(const ember_model *model);
EMBER_API ember_token ember_token_eos(const ember_model *model);
EMBER_API ember_token ember_token_eot(const ember_model *model);
/* End of generation: EOS, end of turn and similar markers. */
EMBER_API bool ember_token_is_eog(const ember_model *model, ember_token token);

/* ---------------------------------------------------------------------------------------- */
/* Sessions: a KV cache over a model, decoding batches of tokens.                           */

typedef struct ember_session ember_session;

/* The types of KV cache rows (llama.cpp's -ctk / -ctv names in the comments). Quantized rows
   need a head size that is a multiple of 32; attention reads every type in place. */
typedef enum ember_kv_type {
    EMBER_KV_F16 = 0,    /* f16 */
    EMBER_KV_F32 = 1,    /* f32 */
    EMBER_KV_BF16 = 2,   /* bf16 */
    EMBER_KV_Q8_0 = 3,   /* q8_0: about half of f16's size, perplexity within 0.1 % */
    EMBER_KV_Q4_0 = 4,   /* q4_0 */
    EMBER_KV_Q4_1 = 5,   /* q4_1 */
    EMBER_KV_IQ4_NL = 6, /* iq4_nl */
    EMBER_KV_Q5_0 = 7,   /* q5_0 */
    EMBER_KV_Q5_1 = 8    /* q5_1 */
} ember_kv_type;
/* The kv_type_v value for V rows of `type` (0 keeps kv_type for both). */
#define EMBER_KV_TYPE_V(type) ((uint8_t)((type) + 1))
typedef enum ember_pooling { EMBER_POOLING_NONE = 0, EMBER_POOLING_MEAN = 1, EMBER_POOLING_LAST = 2 } ember_pooling;

/* Polled between layers of a decode; return true to stop it (EMBER_ERR_ABORTED). */
typedef bool (*ember_abort_callback)(void *user_data);

typedef struct ember_session_params {
    uint32_t struct_size;   /* sizeof(ember_session_params) */
    uint32_t n_ctx;         /* KV cache cells; 0: the model's training context */
    uint32_t n_batch;       /* tokens per internal micro-batch */
    uint32_t n_seq_max;     /* independent sequences (sequence ids 0 .. n_seq_max-1) */
    int32_t n_threads;      /* 0: all hardware threads */
    int32_t kv_type;        /* an ember_kv_type: the K rows, and the V rows unless kv_type_v is set */
    bool embeddings;        /* decode outputs hidden states instead of logits */
    uint8_t kv_type_v;      /* 0: V rows as kv_type; else EMBER_KV_TYPE_V(type) (it fills what was
                               padding, so a caller built before it, whose params hold 0 there, keeps
                               its meaning) */
    int32_t pooling;        /* an ember_pooling; with embeddings: per token (NONE) or one per sequence */
    ember_abort_callback abort_callback;
    void *abort_user_data;
} ember_session_params;

EMBER_API ember_session_params ember_session_default_params(void);
/* The ember_kv_type llama.cpp names `name` ("f16", "q8_0", ...; any case) into *out, or
   EMBER_ERR_INVALID_ARGUMENT with the list of names in ember_last_error(). */
EMBER_API ember_status ember_kv_type_from_name(const char *name, int32_t *out);
/* The name of an ember_kv_type ("q8_0"), or NULL for a value that is not one. */
EMBER_API const char *ember_kv_type_name(int32_t type);
/* Creates a session over a model, which must outlive it. On success *out owns the session
   (ember_session_free); on failure *out is NULL and ember_last_error() says why. params may
   be NULL (defaults). */
EMBER_API ember_status ember_session_create(const ember_model *model, const ember_session_params *params,
                                            ember_session **out);
EMBER_API void ember_session_free(ember_session *session);
EMBER_API uint32_t ember_session_n_ctx(const ember_session *session);
EMBER_API ember_status ember_session_set_threads(ember_session *session, int32_t n_threads);
EMBER_API ember_status ember_session_set_abort_callback(ember_session *session, ember_abort_callback callback,
                                                        void *user_data);

/* A batch: row i decodes tokens[i] at positions[i] in sequence seq_ids[i]; its output
   (logits or embeddings) is kept when want_output[i] != 0. positions NULL: each sequence
   continues after its last cached position; seq_ids NULL: sequence 0; want_output NULL:
   only the last row. The arrays are read during ember_decode only. */
typedef struct ember_batch {
    uint32_t struct_size;   /* sizeof(ember_batch) */
    int32_t n_tokens;
    const ember_token *tokens;
    const int32_t *positions;
    const int32_t *seq_ids;
    const int8_t *want_output;
} ember_batch;

/* A batch of n_tokens tokens of sequence 0 continuing from its cached end, output for the
   last one. */
EMBER_API ember_batch ember_batch_simple(const ember_token *tokens, int32_t n_tokens);

/* Decodes a batch. EMBER_ERR_CONTEXT_FULL: the cache has no room for it (nothing changed);
   EMBER_ERR_INVALID_ARGUMENT: a token, position or sequence id out of range (nothing
   changed); EMBER_ERR_ABORTED: the abort callback stopped it: the batch's tokens are taken
   out of the cache again, which is as before the call, and the outputs of the previous
   decode are discarded (ember_session_logits and both embeddings functions fail until the
   next decode); the session stays usable. An internal error during the decode leaves the
   cache and the outputs the same way. */
EMBER_API ember_status ember_decode(ember_session *session, const ember_batch *batch);

/* Outputs of the last decode, valid until the next decode: n_vocab logits of batch row
   `row` (-1: the last row with output), the hidden state (n_embd) of a row, or a sequence's
   pooled embedding. EMBER_ERR_INVALID_ARGUMENT when that row had no output; on any failure
   the pointer is set to NULL. */
EMBER_API ember_status ember_session_logits(const ember_session *session, int32_t row, const float **logits);
EMBER_API ember_status ember_session_embeddings(const ember_session *session, int32_t row, const float **embedding);
EMBER_API ember_status ember_session_seq_embeddings(const ember_session *session, int32_t seq_id,
                                                    const float **embedding);

/* KV cache editing. Positions [p0, p1) (p1 < 0: to the end); seq_id < 0 in seq_remove: all. */
EMBER_API ember_status ember_kv_seq_remove(ember_session *session, int32_t seq_id, int32_t p0, int32_t p1);
EMBER_API ember_status ember_kv_seq_copy(ember_session *session, int32_t src, int32_t dst, int32_t p0, int32_t p1);
EMBER_API ember_status ember_kv_seq_keep(ember_session *session, int32_t seq_id);
EMBER_API ember_status ember_kv_clear(ember_session *session);
/* The largest cached position of a sequence, -1 when empty. */
EMBER_API int32_t ember_kv_seq_pos_max(const ember_session *session, int32_t seq_id);

/* The session's state (KV cache and last outputs): to memory and to a file, and back into a
   session of the same model. */
EMBER_API ember_status ember_state_save(const ember_session *session, void *buf, size_t buf_size, size_t *needed);
EMBER_API ember_status ember_state_load(ember_session *session, const void *data, size_t size);
EMBER_API ember_status ember_state_save_file(const ember_session *session, const char *path);
EMBER_API ember_status ember_state_load_file(ember_session *session, const char *path);

/* ---------------------------------------------------------------------------------------- */
/* Sampling                                                                                 */

typedef struct ember_sampler ember_sampler;

/* The conventional chain: logit bias -> penalties -> top-k -> typical -> top-p -> min-p ->
   temperature -> random draw; temperature <= 0 gives greedy after the penalties. */
typedef struct ember_sampler_params {
    uint32_t struct_size;   /* sizeof(ember_sampler_params) */
    uint32_t seed;          /* same seed, same choices */
    float temperature;      /* <= 0: greedy */
    int32_t top_k;          /* <= 0: off */
    float top_p;            /* 1: off */
    float min_p;            /* 0: off */
    float typical_p;        /* 1: off */
    int32_t penalty_last_n; /* window of accepted tokens; 0: off, -1: all */
    float penalty_repeat;   /* 1: off */
    float penalty_frequency;
    float penalty_presence;
} ember_sampler_params;

EMBER_API ember_sampler_params ember_sampler_default_params(void);
/* The conventional chain from params (NULL: defaults). On success *out owns the sampler
   (ember_sampler_free); on failure (e.g. a parameter that is not a finite number) *out is
   NULL and ember_last_error() says why. */
EMBER_API ember_status ember_sampler_create(const ember_sampler_params *params, ember_sampler **out);
/* An empty chain to fill with ember_sampler_add_* in order; *out as for ember_sampler_create. */
EMBER_API ember_status ember_sampler_chain_create(ember_sampler **out);
EMBER_API ember_status ember_sampler_add_greedy(ember_sampler *chain);
EMBER_API ember_status ember_sampler_add_dist(ember_sampler *chain, uint32_t seed);
EMBER_API ember_status ember_sampler_add_temperature(ember_sampler *chain, float temperature);
EMBER_API ember_status ember_sampler_add_top_k(ember_sampler *chain, int32_t k);
EMBER_API ember_status ember_sampler_add_top_p(ember_sampler *chain, float p, size_t min_keep);
EMBER_API ember_status ember_sampler_add_min_p(ember_sampler *chain, float p, size_t min_keep);
EMBER_API ember_status ember_sampler_add_typical(ember_sampler *chain, float p, size_t min_keep);
EMBER_API ember_status ember_sampler_add_penalties(ember_sampler *chain, int32_t last_n, float repeat, float frequency,
                                                   float presence);
/* logit[tokens[i]] += biases[i]; -INFINITY bans a token. */
EMBER_API ember_status ember_sampler_add_logit_bias(ember_sampler *chain, const ember_token *tokens, const float *biases,
                                                    size_t n);
EMBER_API void ember_sampler_free(ember_sampler *sampler);

/* Chooses a token from the logits of a batch row of the last decode (-1: last output). */
EMBER_API ember_status ember_sampler_sample(ember_sampler *sampler, const ember_session *session, int32_t row,
                                            ember_token *token);
/* Chooses a token from a caller's logits. */
EMBER_API ember_status ember_sampler_sample_logits(ember_sampler *sampler, const float *logits, int32_t n_vocab,
                                                   ember_token *token);
/* Tells the penalties which token was finally used. */
EMBER_API ember_status ember_sampler_accept(ember_sampler *sampler, ember_token token);
EMBER_API ember_status ember_sampler_reset(ember_sampler *sampler);

/* The n most likely tokens of log_softmax(logits), most likely first. */
EMBER_API ember_status ember_top_logprobs(const float *logits, int32_t n_vocab, int32_t n, ember_token *tokens,
                                          float *logprobs);

/* Grammars (structured output). A grammar stage allows only the tokens whose text continues
   the grammar, and end-of-generation tokens only where the grammar is complete. It constrains
   the whole chain wherever it is added: the chain first checks the choice of its other stages
   and, only when the grammar refuses it, masks the vocabulary with the grammar before them
   all. Its text begins after the prompt: prompt tokens that ember_generate feeds the sampler
   (and ember_sampler_reset) restart it; ember_sampler_accept advances it and fails for a token
   it does not allow. When no token can continue (e.g. the grammar is complete but the end of
   generation is banned), sampling fails with EMBER_ERR_INVALID_ARGUMENT ("the grammar allows
   no continuation"). The model gives the vocabulary and must outlive the sampler. On failure
   the chain is unchanged. */

/* Adds a GBNF grammar (llama.cpp's syntax) whose start rule is root_rule (NULL: "root"). A
   malformed grammar is EMBER_ERR_INVALID_ARGUMENT with "line L, column C" in the message. */
EMBER_API ember_status ember_sampler_add_grammar(ember_sampler *chain, const ember_model *model, const char *gbnf,
                                                 const char *root_rule);
/* Adds the grammar of a JSON Schema (ember_json_schema_to_grammar). A keyword it cannot
   enforce is EMBER_ERR_UNSUPPORTED naming the keyword and its JSON pointer; text that is not
   JSON is EMBER_ERR_INVALID_ARGUMENT. */
EMBER_API ember_status ember_sampler_add_json_schema(ember_sampler *chain, const ember_model *model,
                                                     const char *schema_json);
/* The GBNF (start rule "root") that accepts exactly the JSON documents valid for a schema.
   Errors as ember_sampler_add_json_schema. NUL-terminated when it fits. */
EMBER_API ember_status ember_json_schema_to_grammar(const char *schema_json, char *buf, size_t buf_size,
                                                    size_t *needed);
/* *complete: whether the text accepted since the grammar started may end here (true for a
   chain without grammar stages). A reply cut by a token limit is incomplete when false. */
EMBER_API ember_status ember_sampler_is_complete(const ember_sampler *sampler, bool *complete);

/* ---------------------------------------------------------------------------------------- */
/* Generation                                                                               */

/* Receives each new piece of text (complete UTF-8 characters only) as it is generated;
   return false to stop. `piece` is not NUL-terminated. */
typedef bool (*ember_piece_callback)(const char *piece, size_t len, void *user_data);

typedef enum ember_stop_reason {
    EMBER_STOP_NONE = 0,
    EMBER_STOP_EOG = 1,         /* the model ended its turn */
    EMBER_STOP_MAX_TOKENS = 2,
    EMBER_STOP_STRING = 3,      /* a stop string appeared (it is not emitted) */
    EMBER_STOP_CALLBACK = 4,    /* the piece callback returned false */
    EMBER_STOP_CONTEXT_FULL = 5
} ember_stop_reason;

typedef struct ember_generate_params {
    uint32_t struct_size;          /* sizeof(ember_generate_params) */
    int32_t max_tokens;            /* < 0: until end of generation or a full context */
    bool add_special;              /* add BOS when the session is empty and the model wants it */
    bool parse_special;            /* special-token text in the prompt becomes special tokens */
    ember_sampler *sampler;        /* NULL: greedy */
    const char *const *stop;       /* stop strings */
    size_t n_stop;
    ember_piece_callback callback; /* may be NULL */
    void *user_data;
} ember_generate_params;

typedef struct ember_generate_result {
    uint32_t struct_size;          /* sizeof(ember_generate_result), set by the caller */
    int32_t n_prompt_tokens;
    int32_t n_generated;
    int32_t stop_reason;           /* an ember_stop_reason */
    double prompt_seconds;         /* time spent decoding the prompt */
    double generate_seconds;       /* time spent generating */
} ember_generate_result;

EMBER_API ember_generate_params ember_generate_default_params(void);

/* Appends `prompt` to sequence 0 of the session (after what it already holds, so a chat keeps
   its history in the cache) and generates a reply, streaming it to the callback. result may
   be NULL.

   Each step samples a token from the last logits, has the sampler accept it, streams it and,
   unless generation ends there, decodes it. So when the prompt was decoded, however
   generation then ends (end of generation, token limit, stop string, the callback returning
   false, a full context, or an abort while decoding a generated token):
   - the sampler has accepted every prompt token and every token it sampled, including the
     last one and an end-of-generation token (which is not streamed or counted);
   - sequence 0 of the cache holds its earlier contents, the prompt and every sampled token
     but the last one, which was never decoded;
   - the session's logits are those the last token was sampled from (after an abort they are
     discarded, as by ember_decode).
   When the prompt itself cannot be decoded, neither the cache nor the sampler changes: a
   prompt that does not fit returns EMBER_OK with stop_reason EMBER_STOP_CONTEXT_FULL and
   n_generated 0. An abort (the session's abort callback), while decoding the prompt or a
   generated token, returns EMBER_ERR_ABORTED without writing *result. Errors found before
   decoding (e.g. a NULL prompt or stop string) change nothing. */
EMBER_API ember_status ember_generate(ember_session *session, const char *prompt, const ember_generate_params *params,
                                      ember_generate_result *result);

/* ---------------------------------------------------------------------------------------- */
/* Chat templates                                                                           */

typedef struct ember_chat_message {
    const char *role;     /* "system", "user", "assistant", ... */
    const char *content;
} ember_chat_message;

/* Formats a conversation as the model expects. template_name: a built-in template name
   (e.g. "chatml", "llama3") or NULL to recognise the model's tokenizer.chat_template.
   add_assistant: end with the header of the assistant's reply. NUL-terminated when it fits. */
EMBER_API ember_status ember_chat_apply_template(const ember_model *model, const char *template_name,
                                                 const ember_chat_message *messages, size_t n_messages,
                                                 bool add_assistant, char *buf, size_t buf_size, size_t *needed);
/* The built-in template names: index 0 .. count-1; NULL past the end. */
EMBER_API size_t ember_chat_template_count(void);
EMBER_API const char *ember_chat_template_name(size_t index);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_EMBER_H */
