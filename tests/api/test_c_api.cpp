// The C ABI as an application sees it: only ember.h, linked against the shared library.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ember/ember.h"
#include "support/test_paths.h"

namespace {

const std::string kStoryPrompt = "Once upon a time, there was a little";
const std::string kStoryGreedy = " girl named Lily. She loved to play outside";  // llama.cpp's 16 greedy tokens

std::string model_path(const char *name) { return ember::test::shared_path(std::string("models/") + name); }

struct ModelHandle {
    ember_model *m = nullptr;
    explicit ModelHandle(const std::string &path, const ember_model_params *p = nullptr) {
        REQUIRE(ember_model_load(path.c_str(), p, &m) == EMBER_OK);
    }
    ~ModelHandle() { ember_model_free(m); }
};

struct SessionHandle {
    ember_session *s = nullptr;
    SessionHandle(const ember_model *m, const ember_session_params *p = nullptr) {
        REQUIRE(ember_session_create(m, p, &s) == EMBER_OK);
    }
    ~SessionHandle() { ember_session_free(s); }
};

struct Stream {
    std::string text;
    int calls = 0;
    int stop_after = -1;
};

bool collect(const char *piece, size_t len, void *ud) {
    auto *s = static_cast<Stream *>(ud);
    s->text.append(piece, len);
    return ++s->calls != s->stop_after;
}

ember_generate_result generate(ember_session *s, const std::string &prompt, Stream &out, int32_t max_tokens,
                               std::vector<const char *> stop = {}, ember_status expect = EMBER_OK) {
    ember_generate_params p = ember_generate_default_params();
    p.max_tokens = max_tokens;
    p.callback = collect;
    p.user_data = &out;
    p.stop = stop.data();
    p.n_stop = stop.size();
    ember_generate_result r{};
    r.struct_size = sizeof r;
    CHECK(ember_generate(s, prompt.c_str(), &p, &r) == expect);
    return r;
}

std::vector<ember_token> tokenize(const ember_model *m, const std::string &text, bool add_special = true) {
    std::vector<ember_token> ids(text.size() + 4);
    int32_t n = 0;
    REQUIRE(ember_tokenize(m, text.data(), text.size(), add_special, false, ids.data(), static_cast<int32_t>(ids.size()), &n) == EMBER_OK);
    ids.resize(static_cast<size_t>(n));
    return ids;
}

}  // namespace

TEST_CASE("loading: errors leave *out NULL and explain") {
    ember_model *m = reinterpret_cast<ember_model *>(0x1);
    CHECK(ember_model_load("/nonexistent/model.gguf", nullptr, &m) == EMBER_ERR_IO);
    CHECK(m == nullptr);
    CHECK_THAT(ember_last_error(), Catch::Contains("/nonexistent/model.gguf"));
    CHECK(ember_model_load(nullptr, nullptr, &m) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_model_load(model_path("stories260K.gguf").c_str(), nullptr, nullptr) == EMBER_ERR_INVALID_ARGUMENT);

    ember_model_params p = ember_model_default_params();
    p.struct_size = 0;
    CHECK(ember_model_load(model_path("stories260K.gguf").c_str(), &p, &m) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK_THAT(ember_last_error(), Catch::Contains("struct_size"));

    // A truncated file is a format error, not a crash.
    const auto bytes = ember::test::read_file_bytes(model_path("stories260K.gguf"));
    CHECK(ember_model_load_from_buffer(bytes.data(), 5000, nullptr, &m) == EMBER_ERR_BAD_FORMAT);
    CHECK(m == nullptr);
}

TEST_CASE("loading: versioned params from older and newer callers") {
    // An older caller knew only struct_size and n_gpu_layers: the rest keeps its defaults.
    ember_model_params old_caller = ember_model_default_params();
    old_caller.struct_size = offsetof(ember_model_params, use_mmap);
    ember_model *m = nullptr;
    REQUIRE(ember_model_load(model_path("stories260K.gguf").c_str(), &old_caller, &m) == EMBER_OK);
    ember_model_free(m);

    // A newer caller's unknown trailing fields must be zero.
    struct Newer {
        ember_model_params base;
        uint64_t future_field;
    } newer{ember_model_default_params(), 0};
    newer.base.struct_size = sizeof newer;
    REQUIRE(ember_model_load(model_path("stories260K.gguf").c_str(), &newer.base, &m) == EMBER_OK);
    ember_model_free(m);
    newer.future_field = 7;
    CHECK(ember_model_load(model_path("stories260K.gguf").c_str(), &newer.base, &m) == EMBER_ERR_UNSUPPORTED);
}

TEST_CASE("loading: from memory, from explicit shards, without mmap, vocab only, cancelled by progress") {
    const auto bytes = ember::test::read_file_bytes(model_path("stories260K.gguf"));
    ember_model *m = nullptr;
    REQUIRE(ember_model_load_from_buffer(bytes.data(), bytes.size(), nullptr, &m) == EMBER_OK);
    CHECK(ember_model_n_layer(m) == 5);
    ember_model_free(m);

    const std::string dir = ember::test::temp_dir("c-api-shards");
    const std::string cmd = std::string(EMBER_GGUF_TOOL) + " split --max-tensors 20 " + model_path("stories260K.gguf") + " " +
                            dir + "/s > /dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const std::string s1 = dir + "/s-00001-of-00003.gguf", s2 = dir + "/s-00002-of-00003.gguf", s3 = dir + "/s-00003-of-00003.gguf";
    const char *paths[] = {s1.c_str(), s2.c_str(), s3.c_str()};
    REQUIRE(ember_model_load_shards(paths, 3, nullptr, &m) == EMBER_OK);
    {
        SessionHandle s(m);
        Stream out;
        generate(s.s, kStoryPrompt, out, 16);
        CHECK(out.text == kStoryGreedy);
    }
    ember_model_free(m);
    REQUIRE(ember_model_load(s1.c_str(), nullptr, &m) == EMBER_OK);  // the first shard brings the rest
    CHECK(ember_model_n_params(m) > 290000);
    ember_model_free(m);
    CHECK(ember_model_load(s2.c_str(), nullptr, &m) == EMBER_ERR_INVALID_ARGUMENT);

    ember_model_params read_in = ember_model_default_params();  // no mapping: read into memory
    read_in.use_mmap = false;
    REQUIRE(ember_model_load(model_path("stories260K.gguf").c_str(), &read_in, &m) == EMBER_OK);
    {
        SessionHandle s(m);
        Stream out;
        generate(s.s, kStoryPrompt, out, 16);
        CHECK(out.text == kStoryGreedy);
    }
    ember_model_free(m);

    ember_model_params vocab_only = ember_model_default_params();
    vocab_only.vocab_only = true;
    REQUIRE(ember_model_load(model_path("stories260K.gguf").c_str(), &vocab_only, &m) == EMBER_OK);
    CHECK(tokenize(m, kStoryPrompt).size() == 10);
    ember_session *s = nullptr;
    CHECK(ember_session_create(m, nullptr, &s) == EMBER_ERR_UNSUPPORTED);
    CHECK(s == nullptr);
    ember_model_free(m);

    // Progress is reported per tensor, never decreasing, ending at 1; a cancel in the middle
    // of the weights fails the load cleanly (the sanitizer build checks nothing leaks).
    std::vector<float> seen;
    ember_model_params report = ember_model_default_params();
    report.progress_callback = [](float progress, void *ud) {
        static_cast<std::vector<float> *>(ud)->push_back(progress);
        return true;
    };
    report.progress_user_data = &seen;
    REQUIRE(ember_model_load(model_path("stories260K.gguf").c_str(), &report, &m) == EMBER_OK);
    ember_model_free(m);
    CHECK(seen.size() >= 1 + 9 * 5 + 1);  // parsed, each tensor of the 5 layers (and more), done
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.front() > 0.0f);
    CHECK(seen.back() == 1.0f);

    struct Cancel {
        int calls = 0;
    } cancel_state;
    ember_model_params cancel = ember_model_default_params();
    cancel.progress_callback = [](float, void *ud) { return ++static_cast<Cancel *>(ud)->calls < 10; };
    cancel.progress_user_data = &cancel_state;
    CHECK(ember_model_load(model_path("stories260K.gguf").c_str(), &cancel, &m) == EMBER_ERR_ABORTED);
    CHECK(m == nullptr);
    CHECK(cancel_state.calls == 10);
    CHECK(std::string(ember_last_error()).find("cancelled") != std::string::npos);
}

TEST_CASE("model facts and metadata") {
    ModelHandle model(model_path("stories260K.gguf"));
    CHECK(std::string(ember_model_arch(model.m)) == "llama");
    CHECK(ember_model_n_vocab(model.m) == 512);
    CHECK(ember_model_n_embd(model.m) == 64);
    CHECK(ember_model_n_layer(model.m) == 5);
    CHECK(ember_model_n_ctx_train(model.m) == 128);
    CHECK(ember_model_size(model.m) == 1171200);
    CHECK(ember_model_chat_template(model.m) == nullptr);
    CHECK(ember_model_meta_count(model.m) == 19);
    char buf[64];
    size_t needed = 0;
    REQUIRE(ember_model_meta(model.m, "llama.block_count", buf, sizeof buf, &needed) == EMBER_OK);
    CHECK(std::string(buf) == "5");
    CHECK(ember_model_meta(model.m, "no.such.key", buf, sizeof buf, &needed) == EMBER_ERR_NOT_FOUND);
    CHECK(ember_model_meta(model.m, "tokenizer.ggml.tokens", buf, sizeof buf, &needed) == EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 1000);
    REQUIRE(ember_model_meta_key(model.m, 0, buf, sizeof buf, &needed) == EMBER_OK);
    CHECK(std::string(buf) == "tokenizer.ggml.tokens");
    CHECK(ember_model_meta_key(model.m, 19, buf, sizeof buf, &needed) == EMBER_ERR_INVALID_ARGUMENT);
    // NULL handles answer with zero values, never crash.
    CHECK(ember_model_n_vocab(nullptr) == 0);
    CHECK(ember_model_arch(nullptr) == nullptr);
    ember_model_free(nullptr);

    ModelHandle qwen(model_path("micro-qwen2-F16.gguf"));
    CHECK(std::string(ember_model_arch(qwen.m)) == "qwen2");
    REQUIRE(ember_model_chat_template(qwen.m) != nullptr);
    CHECK_THAT(ember_model_chat_template(qwen.m), Catch::Contains("im_start"));
}

TEST_CASE("vocabulary: tokenize, detokenize, pieces, special ids") {
    ModelHandle model(model_path("stories260K.gguf"));
    const auto ids = tokenize(model.m, kStoryPrompt);
    REQUIRE(ids.size() == 10);
    CHECK(ids[0] == ember_token_bos(model.m));
    CHECK(ember_token_bos(model.m) == 1);
    CHECK(ember_token_eos(model.m) == 2);
    CHECK(ember_token_is_eog(model.m, 2));
    CHECK_FALSE(ember_token_is_eog(model.m, 100));
    CHECK_FALSE(ember_token_is_eog(model.m, 100000));

    char text[256];
    size_t needed = 0;
    REQUIRE(ember_detokenize(model.m, ids.data() + 1, 9, false, text, sizeof text, &needed) == EMBER_OK);
    CHECK(std::string(text) == kStoryPrompt);
    CHECK(needed == kStoryPrompt.size());
    CHECK(ember_detokenize(model.m, ids.data() + 1, 9, false, text, 5, &needed) == EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == kStoryPrompt.size());

    REQUIRE(ember_token_to_piece(model.m, ids[1], false, text, sizeof text, &needed) == EMBER_OK);
    CHECK(needed > 0);
    CHECK(ember_token_to_piece(model.m, 512, false, text, sizeof text, &needed) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK_THAT(ember_last_error(), Catch::Contains("out of range"));

    ember_token small[2];
    int32_t n = 0;
    CHECK(ember_tokenize(model.m, kStoryPrompt.data(), kStoryPrompt.size(), true, false, small, 2, &n) == EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 10);
    CHECK(ember_tokenize(model.m, "", 0, false, false, small, 2, &n) == EMBER_OK);
    CHECK(n == 0);
}

TEST_CASE("generation: greedy text, stop strings, callback stop, token limit") {
    ModelHandle model(model_path("stories260K.gguf"));
    {
        SessionHandle s(model.m);
        Stream out;
        const ember_generate_result r = generate(s.s, kStoryPrompt, out, 16);
        CHECK(out.text == kStoryGreedy);
        CHECK(r.n_prompt_tokens == 10);
        CHECK(r.n_generated == 16);
        CHECK(r.stop_reason == EMBER_STOP_MAX_TOKENS);
        CHECK(ember_kv_seq_pos_max(s.s, 0) == 24);  // 10 prompt + 15 fed back
    }
    {
        SessionHandle s(model.m);
        Stream out;
        const ember_generate_result r = generate(s.s, kStoryPrompt, out, 16, {"Lily"});
        CHECK(out.text == " girl named ");  // nothing of the stop string is streamed
        CHECK(r.stop_reason == EMBER_STOP_STRING);
    }
    {
        SessionHandle s(model.m);
        Stream out;
        const ember_generate_result r = generate(s.s, kStoryPrompt, out, 16, {"xyz never"});
        CHECK(out.text == kStoryGreedy);  // held-back text is released at the end
        CHECK(r.stop_reason == EMBER_STOP_MAX_TOKENS);
    }
    {
        SessionHandle s(model.m);
        Stream out;
        out.stop_after = 2;
        const ember_generate_result r = generate(s.s, kStoryPrompt, out, 16);
        CHECK(out.calls == 2);
        CHECK(r.stop_reason == EMBER_STOP_CALLBACK);
    }
    {
        // A sampler from the chain API, seeded: the same seed gives the same story.
        ember_sampler_params sp = ember_sampler_default_params();
        sp.seed = 42;
        sp.temperature = 1.0f;
        std::string texts[2];
        for (std::string &t : texts) {
            ember_sampler *sampler = nullptr;
            REQUIRE(ember_sampler_create(&sp, &sampler) == EMBER_OK);
            SessionHandle s(model.m);
            Stream out;
            ember_generate_params p = ember_generate_default_params();
            p.max_tokens = 24;
            p.sampler = sampler;
            p.callback = collect;
            p.user_data = &out;
            CHECK(ember_generate(s.s, kStoryPrompt.c_str(), &p, nullptr) == EMBER_OK);
            t = out.text;
            ember_sampler_free(sampler);
        }
        CHECK(texts[0] == texts[1]);
        CHECK(texts[0].size() > 20);
    }
}

TEST_CASE("create functions leave *out NULL on failure; failed getters leave NULL pointers") {
    ModelHandle model(model_path("stories260K.gguf"));
    auto *const garbage = reinterpret_cast<ember_session *>(0x1);

    ember_session *s = garbage;
    CHECK(ember_session_create(nullptr, nullptr, &s) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(s == nullptr);
    ember_session_params sp = ember_session_default_params();
    sp.kv_type = 9;
    s = garbage;
    CHECK(ember_session_create(model.m, &sp, &s) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(s == nullptr);
    CHECK_THAT(ember_last_error(), Catch::Contains("kv_type 9"));
    sp = ember_session_default_params();
    sp.kv_type_v = 10;
    CHECK(ember_session_create(model.m, &sp, &s) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK_THAT(ember_last_error(), Catch::Contains("kv_type_v - 1 9"));
    // stories260K's heads have 8 values: a 32-block type cannot hold them.
    sp = ember_session_default_params();
    sp.kv_type_v = EMBER_KV_TYPE_V(EMBER_KV_Q8_0);
    CHECK(ember_session_create(model.m, &sp, &s) == EMBER_ERR_UNSUPPORTED);
    CHECK(s == nullptr);
    CHECK_THAT(ember_last_error(), Catch::Contains("multiple of 32"));
    sp = ember_session_default_params();
    sp.pooling = -1;
    s = garbage;
    CHECK(ember_session_create(model.m, &sp, &s) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(s == nullptr);
    CHECK(ember_session_create(model.m, nullptr, nullptr) == EMBER_ERR_INVALID_ARGUMENT);

    ember_sampler_params bad = ember_sampler_default_params();
    bad.temperature = NAN;
    ember_sampler *sampler = reinterpret_cast<ember_sampler *>(0x1);
    CHECK(ember_sampler_create(&bad, &sampler) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(sampler == nullptr);
    bad = ember_sampler_default_params();
    bad.struct_size = 0;
    sampler = reinterpret_cast<ember_sampler *>(0x1);
    CHECK(ember_sampler_create(&bad, &sampler) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(sampler == nullptr);
    CHECK(ember_sampler_chain_create(nullptr) == EMBER_ERR_INVALID_ARGUMENT);

    // A session that has decoded nothing has no outputs: the pointers come back NULL.
    SessionHandle fresh(model.m);
    const float *logits = reinterpret_cast<const float *>(0x1), *embedding = logits;
    CHECK(ember_session_logits(fresh.s, -1, &logits) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(logits == nullptr);
    CHECK(ember_session_embeddings(fresh.s, 0, &embedding) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(embedding == nullptr);
    embedding = reinterpret_cast<const float *>(0x1);
    CHECK(ember_session_seq_embeddings(fresh.s, 0, &embedding) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(embedding == nullptr);
}

namespace {

// A sampler whose memory can be read back: greedy after a small presence penalty on every
// token it has accepted.
constexpr float kPresence = 1e-3f;

ember_sampler *probe_sampler() {
    ember_sampler *chain = nullptr;
    REQUIRE(ember_sampler_chain_create(&chain) == EMBER_OK);
    REQUIRE(ember_sampler_add_penalties(chain, -1, 1.0f, 0.0f, kPresence) == EMBER_OK);
    REQUIRE(ember_sampler_add_greedy(chain) == EMBER_OK);
    return chain;
}

// Whether the sampler has accepted `token`: on logits that favour it by less than the
// penalty, it is chosen only when it was never accepted.
bool accepted(ember_sampler *sampler, ember_token token) {
    std::vector<float> logits(512, 0.0f);
    logits[static_cast<size_t>(token)] = kPresence / 2;
    ember_token chosen = -1;
    REQUIRE(ember_sampler_sample_logits(sampler, logits.data(), 512, &chosen) == EMBER_OK);
    return chosen != token;
}

std::vector<bool> accepted_set(ember_sampler *sampler) {
    std::vector<bool> set;
    for (ember_token t = 0; t < 512; ++t) set.push_back(accepted(sampler, t));
    return set;
}

// ember_generate's documented steps with the lower-level calls, for a reply ended by its token
// limit: decode the prompt, accept it, then sample, accept and (but for the last) decode.
std::vector<ember_token> replay(const ember_model *m, ember_session *s, ember_sampler *sampler, int max_tokens) {
    const auto prompt = tokenize(m, kStoryPrompt);
    ember_batch b = ember_batch_simple(prompt.data(), static_cast<int32_t>(prompt.size()));
    REQUIRE(ember_decode(s, &b) == EMBER_OK);
    for (ember_token t : prompt) REQUIRE(ember_sampler_accept(sampler, t) == EMBER_OK);
    std::vector<ember_token> sampled;
    for (int i = 0; i < max_tokens; ++i) {
        ember_token t = -1;
        REQUIRE(ember_sampler_sample(sampler, s, -1, &t) == EMBER_OK);
        REQUIRE(ember_sampler_accept(sampler, t) == EMBER_OK);
        sampled.push_back(t);
        if (i + 1 == max_tokens) break;
        ember_batch one = ember_batch_simple(&t, 1);
        REQUIRE(ember_decode(s, &one) == EMBER_OK);
    }
    return sampled;
}

struct ProbeSampler {
    ember_sampler *s = probe_sampler();
    ~ProbeSampler() { ember_sampler_free(s); }
};

// After ember_generate sampled n tokens in session s (params sp): the state a replay of n
// tokens leaves in a fresh session: cache, sampler and (unless an abort discarded them) logits.
void check_as_replay(const ember_model *m, const ember_session_params &sp, ember_session *s, ember_sampler *sampler,
                     int n_sampled, bool logits_kept = true) {
    SessionHandle ref(m, &sp);
    ProbeSampler ref_sampler;
    replay(m, ref.s, ref_sampler.s, n_sampled);
    CHECK(ember_kv_seq_pos_max(s, 0) == ember_kv_seq_pos_max(ref.s, 0));
    CHECK(accepted_set(sampler) == accepted_set(ref_sampler.s));
    const float *a = nullptr, *b = nullptr;
    REQUIRE(ember_session_logits(ref.s, -1, &b) == EMBER_OK);
    if (!logits_kept) {
        CHECK(ember_session_logits(s, -1, &a) == EMBER_ERR_INVALID_ARGUMENT);
        return;
    }
    REQUIRE(ember_session_logits(s, -1, &a) == EMBER_OK);
    CHECK(std::memcmp(a, b, 512 * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("generate: what the sampler and the cache hold after each way of stopping") {
    ModelHandle model(model_path("stories260K.gguf"));
    const std::vector<ember_token> prompt = tokenize(model.m, kStoryPrompt);
    const int32_t n_prompt = static_cast<int32_t>(prompt.size());
    ember_session_params sp = ember_session_default_params();
    sp.n_ctx = 64;
    ProbeSampler sampler;
    Stream out;
    ember_generate_result r;
    auto run = [&](ember_session *s, int32_t max_tokens) {
        ember_generate_params p = ember_generate_default_params();
        p.max_tokens = max_tokens;
        p.sampler = sampler.s;
        p.callback = collect;
        p.user_data = &out;
        r = ember_generate_result{sizeof(ember_generate_result), -1, -1, -1, 0.0, 0.0};
        return ember_generate(s, kStoryPrompt.c_str(), &p, &r);
    };

    SECTION("token limit: every sampled token accepted, all but the last in the cache") {
        SessionHandle s(model.m, &sp);
        REQUIRE(run(s.s, 6) == EMBER_OK);
        CHECK(r.stop_reason == EMBER_STOP_MAX_TOKENS);
        CHECK(r.n_generated == 6);
        CHECK(ember_kv_seq_pos_max(s.s, 0) == n_prompt + 6 - 2);  // positions 0 .. n_prompt + 4
        for (ember_token t : prompt) CHECK(accepted(sampler.s, t));
        check_as_replay(model.m, sp, s.s, sampler.s, 6);
    }
    SECTION("callback stop: the refused token was sampled, accepted and counted, not decoded") {
        SessionHandle s(model.m, &sp);
        out.stop_after = 3;
        REQUIRE(run(s.s, 16) == EMBER_OK);
        CHECK(r.stop_reason == EMBER_STOP_CALLBACK);
        CHECK(r.n_generated == 3);
        check_as_replay(model.m, sp, s.s, sampler.s, 3);
    }
    SECTION("full context: the token that did not fit was sampled, accepted and counted") {
        ember_session_params small = sp;
        small.n_ctx = static_cast<uint32_t>(n_prompt + 4);  // room for four generated tokens
        SessionHandle s(model.m, &small);
        REQUIRE(run(s.s, -1) == EMBER_OK);
        CHECK(r.stop_reason == EMBER_STOP_CONTEXT_FULL);
        CHECK(r.n_generated == 5);
        CHECK(ember_kv_seq_pos_max(s.s, 0) == n_prompt + 3);  // the cache is full
        check_as_replay(model.m, small, s.s, sampler.s, 5);
    }
    SECTION("a prompt that does not fit changes neither the cache nor the sampler") {
        ember_session_params tiny = sp;
        tiny.n_ctx = static_cast<uint32_t>(n_prompt - 1);
        SessionHandle s(model.m, &tiny);
        REQUIRE(run(s.s, 8) == EMBER_OK);
        CHECK(r.stop_reason == EMBER_STOP_CONTEXT_FULL);
        CHECK(r.n_generated == 0);
        CHECK(r.n_prompt_tokens == n_prompt);
        CHECK(out.calls == 0);
        CHECK(ember_kv_seq_pos_max(s.s, 0) == -1);
        CHECK(accepted_set(sampler.s) == std::vector<bool>(512, false));
    }
    SECTION("abort: while decoding the prompt nothing changes; later, as at a token limit") {
        // The abort callback is polled between layers: count the polls of one decode first.
        SessionHandle s(model.m, &sp);
        struct Polls {
            int n = 0, stop_at = -1;
        } polls;
        auto poll = [](void *ud) {
            auto *p = static_cast<Polls *>(ud);
            return ++p->n == p->stop_at;
        };
        REQUIRE(ember_session_set_abort_callback(s.s, poll, &polls) == EMBER_OK);
        const ember_token one = 1;
        ember_batch b = ember_batch_simple(&one, 1);
        REQUIRE(ember_decode(s.s, &b) == EMBER_OK);
        const int per_decode = polls.n;
        REQUIRE(per_decode > 1);
        REQUIRE(ember_kv_clear(s.s) == EMBER_OK);

        polls = Polls{0, 2};  // inside the prompt's decode
        CHECK(run(s.s, 8) == EMBER_ERR_ABORTED);
        CHECK(r.n_generated == -1);  // *result is not written
        CHECK(ember_kv_seq_pos_max(s.s, 0) == -1);
        CHECK(accepted_set(sampler.s) == std::vector<bool>(512, false));
        const float *logits = nullptr;
        CHECK(ember_session_logits(s.s, -1, &logits) == EMBER_ERR_INVALID_ARGUMENT);

        // Inside the decode of the third generated token: three sampled, two in the cache.
        polls = Polls{0, 3 * per_decode + 2};
        CHECK(run(s.s, 8) == EMBER_ERR_ABORTED);
        CHECK(out.calls == 3);
        CHECK(ember_kv_seq_pos_max(s.s, 0) == n_prompt + 1);
        check_as_replay(model.m, sp, s.s, sampler.s, 3, /*logits_kept=*/false);
    }
}

TEST_CASE("decode: batches, logits by row, bad input, full context, abort") {
    ModelHandle model(model_path("stories260K.gguf"));
    ember_session_params sp = ember_session_default_params();
    sp.n_ctx = 32;
    SessionHandle s(model.m, &sp);
    CHECK(ember_session_n_ctx(s.s) == 32);

    const auto ids = tokenize(model.m, kStoryPrompt);
    std::vector<int8_t> all(ids.size(), 1);
    ember_batch b = ember_batch_simple(ids.data(), static_cast<int32_t>(ids.size()));
    b.want_output = all.data();
    REQUIRE(ember_decode(s.s, &b) == EMBER_OK);
    const float *first = nullptr, *last = nullptr;
    REQUIRE(ember_session_logits(s.s, 0, &first) == EMBER_OK);
    REQUIRE(ember_session_logits(s.s, -1, &last) == EMBER_OK);
    CHECK(first != last);
    int best = 0;
    for (int i = 1; i < 512; ++i)
        if (last[i] > last[best]) best = i;
    CHECK(best == 298);  // " girl", llama.cpp's first greedy token

    // Out-of-range token: a clear error, the session unchanged and usable.
    const ember_token bad[1] = {512};
    ember_batch bb = ember_batch_simple(bad, 1);
    CHECK(ember_decode(s.s, &bb) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_kv_seq_pos_max(s.s, 0) == 9);
    const int32_t bad_seq[1] = {5};
    ember_batch bs = ember_batch_simple(ids.data(), 1);
    bs.seq_ids = bad_seq;
    CHECK(ember_decode(s.s, &bs) == EMBER_ERR_INVALID_ARGUMENT);
    ember_batch empty = ember_batch_simple(ids.data(), 0);
    CHECK(ember_decode(s.s, &empty) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_decode(s.s, nullptr) == EMBER_ERR_INVALID_ARGUMENT);

    // A full context is a status, never an overflow.
    std::vector<ember_token> many(30, 300);
    ember_batch big = ember_batch_simple(many.data(), 30);
    CHECK(ember_decode(s.s, &big) == EMBER_ERR_CONTEXT_FULL);
    CHECK(ember_kv_seq_pos_max(s.s, 0) == 9);
    Stream out;
    const ember_generate_result r = generate(s.s, " and", out, 100);
    CHECK(r.stop_reason == EMBER_STOP_CONTEXT_FULL);

    // Abort: stops the decode cleanly, the session stays usable.
    REQUIRE(ember_kv_clear(s.s) == EMBER_OK);
    int polls = 0;
    REQUIRE(ember_session_set_abort_callback(s.s, [](void *ud) { return ++*static_cast<int *>(ud) > 2; }, &polls) == EMBER_OK);
    CHECK(ember_decode(s.s, &b) == EMBER_ERR_ABORTED);
    CHECK(ember_kv_seq_pos_max(s.s, 0) == -1);
    REQUIRE(ember_session_set_abort_callback(s.s, nullptr, nullptr) == EMBER_OK);
    CHECK(ember_decode(s.s, &b) == EMBER_OK);
    REQUIRE(ember_session_logits(s.s, -1, &last) == EMBER_OK);
    CHECK(ember_session_logits(s.s, 100, &last) == EMBER_ERR_INVALID_ARGUMENT);
}

TEST_CASE("sequences, KV editing and saved state") {
    ModelHandle model(model_path("stories260K.gguf"));
    ember_session_params sp = ember_session_default_params();
    sp.n_ctx = 64;
    sp.n_seq_max = 2;
    SessionHandle s(model.m, &sp);
    const auto ids = tokenize(model.m, kStoryPrompt);
    ember_batch b = ember_batch_simple(ids.data(), static_cast<int32_t>(ids.size()));
    REQUIRE(ember_decode(s.s, &b) == EMBER_OK);
    REQUIRE(ember_kv_seq_copy(s.s, 0, 1, 0, -1) == EMBER_OK);
    CHECK(ember_kv_seq_pos_max(s.s, 1) == 9);

    // Both sequences continue with the same token and agree.
    const ember_token next = 298;
    const int32_t seqs[2] = {0, 1};
    const ember_token two[2] = {next, next};
    const int8_t outs[2] = {1, 1};
    ember_batch pair = ember_batch_simple(two, 2);
    pair.seq_ids = seqs;
    pair.want_output = outs;
    REQUIRE(ember_decode(s.s, &pair) == EMBER_OK);
    const float *l0 = nullptr, *l1 = nullptr;
    REQUIRE(ember_session_logits(s.s, 0, &l0) == EMBER_OK);
    REQUIRE(ember_session_logits(s.s, 1, &l1) == EMBER_OK);
    for (int i = 0; i < 512; ++i) REQUIRE(l0[i] == Approx(l1[i]).margin(1e-4));

    // Save, disturb, restore: the same logits come back.
    size_t size = 0;
    CHECK(ember_state_save(s.s, nullptr, 0, &size) == EMBER_ERR_BUFFER_TOO_SMALL);
    std::vector<uint8_t> state(size);
    REQUIRE(ember_state_save(s.s, state.data(), state.size(), &size) == EMBER_OK);
    std::vector<float> saved(l0, l0 + 512);
    REQUIRE(ember_kv_seq_remove(s.s, -1, 0, -1) == EMBER_OK);
    CHECK(ember_kv_seq_pos_max(s.s, 0) == -1);
    REQUIRE(ember_state_load(s.s, state.data(), state.size()) == EMBER_OK);
    CHECK(ember_kv_seq_pos_max(s.s, 1) == 10);
    REQUIRE(ember_session_logits(s.s, 0, &l0) == EMBER_OK);
    CHECK(std::vector<float>(l0, l0 + 512) == saved);
    CHECK(ember_state_load(s.s, state.data(), 10) != EMBER_OK);  // truncated state: an error

    const std::string file = ember::test::temp_dir("c-api-state") + "/state.bin";
    REQUIRE(ember_state_save_file(s.s, file.c_str()) == EMBER_OK);
    REQUIRE(ember_kv_seq_keep(s.s, 1) == EMBER_OK);
    CHECK(ember_kv_seq_pos_max(s.s, 0) == -1);
    REQUIRE(ember_state_load_file(s.s, file.c_str()) == EMBER_OK);
    CHECK(ember_kv_seq_pos_max(s.s, 0) == 10);
    CHECK(ember_state_load_file(s.s, "/nonexistent/state.bin") != EMBER_OK);
}

TEST_CASE("samplers from parameters and from a chain") {
    std::vector<float> logits = {1.0f, 3.0f, 2.0f, -1.0f};
    ember_sampler *chain = nullptr;
    REQUIRE(ember_sampler_chain_create(&chain) == EMBER_OK);
    const ember_token banned[1] = {1};
    const float bias[1] = {-INFINITY};
    REQUIRE(ember_sampler_add_logit_bias(chain, banned, bias, 1) == EMBER_OK);
    REQUIRE(ember_sampler_add_greedy(chain) == EMBER_OK);
    ember_token t = -1;
    REQUIRE(ember_sampler_sample_logits(chain, logits.data(), 4, &t) == EMBER_OK);
    CHECK(t == 2);
    CHECK(ember_sampler_add_temperature(chain, NAN) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_sampler_sample_logits(chain, nullptr, 4, &t) == EMBER_ERR_INVALID_ARGUMENT);
    ember_sampler_free(chain);

    ember_sampler_params p = ember_sampler_default_params();
    p.temperature = 0.0f;
    ember_sampler *greedy = nullptr;
    REQUIRE(ember_sampler_create(&p, &greedy) == EMBER_OK);
    REQUIRE(ember_sampler_sample_logits(greedy, logits.data(), 4, &t) == EMBER_OK);
    CHECK(t == 1);
    REQUIRE(ember_sampler_accept(greedy, t) == EMBER_OK);
    REQUIRE(ember_sampler_reset(greedy) == EMBER_OK);
    ember_sampler_free(greedy);

    ember_token top[2];
    float lp[2];
    REQUIRE(ember_top_logprobs(logits.data(), 4, 2, top, lp) == EMBER_OK);
    CHECK(top[0] == 1);
    CHECK(top[1] == 2);
    CHECK(lp[0] - lp[1] == Approx(1.0f));
    CHECK(ember_top_logprobs(logits.data(), 4, 5, top, lp) == EMBER_ERR_INVALID_ARGUMENT);
}

TEST_CASE("chat templates through the C ABI") {
    const ember_chat_message msgs[2] = {{"system", "Be brief."}, {"user", "Hi"}};
    char buf[512];
    size_t needed = 0;
    REQUIRE(ember_chat_apply_template(nullptr, "chatml", msgs, 2, true, buf, sizeof buf, &needed) == EMBER_OK);
    CHECK(std::string(buf) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    CHECK(ember_chat_apply_template(nullptr, "no-such-template", msgs, 2, true, buf, sizeof buf, &needed) ==
          EMBER_ERR_INVALID_ARGUMENT);
    CHECK_THAT(ember_last_error(), Catch::Contains("no-such-template"));
    CHECK(ember_chat_apply_template(nullptr, "chatml", msgs, 2, true, buf, 10, &needed) == EMBER_ERR_BUFFER_TOO_SMALL);

    ModelHandle qwen(model_path("micro-qwen2-F16.gguf"));  // detected from its Jinja template
    REQUIRE(ember_chat_apply_template(qwen.m, nullptr, msgs + 1, 1, true, buf, sizeof buf, &needed) == EMBER_OK);
    CHECK_THAT(buf, Catch::StartsWith("<|im_start|>"));

    REQUIRE(ember_chat_template_count() >= 54);
    for (size_t i = 0; i < ember_chat_template_count(); ++i) CHECK(ember_chat_template_name(i) != nullptr);
    CHECK(ember_chat_template_name(ember_chat_template_count()) == nullptr);
}

TEST_CASE("embeddings, pooled per sequence") {
    ModelHandle model(model_path("stories260K.gguf"));
    ember_session_params sp = ember_session_default_params();
    sp.embeddings = true;
    sp.pooling = EMBER_POOLING_MEAN;
    SessionHandle s(model.m, &sp);
    const auto ids = tokenize(model.m, kStoryPrompt);
    ember_batch b = ember_batch_simple(ids.data(), static_cast<int32_t>(ids.size()));
    REQUIRE(ember_decode(s.s, &b) == EMBER_OK);
    const float *e = nullptr;
    REQUIRE(ember_session_seq_embeddings(s.s, 0, &e) == EMBER_OK);
    double norm = 0;
    for (int i = 0; i < 64; ++i) norm += e[i] * e[i];
    CHECK(std::isfinite(norm));
    CHECK(norm > 0);
}

TEST_CASE("one model, many sessions on many threads") {
    ModelHandle model(model_path("stories260K.gguf"));
    std::vector<std::string> texts(4);
    std::vector<std::thread> threads;
    for (std::string &t : texts)
        threads.emplace_back([&model, &t] {
            ember_session_params sp = ember_session_default_params();
            sp.n_threads = 1;
            ember_session *s = nullptr;
            if (ember_session_create(model.m, &sp, &s) != EMBER_OK) return;
            Stream out;
            ember_generate_params p = ember_generate_default_params();
            p.max_tokens = 16;
            p.callback = collect;
            p.user_data = &out;
            if (ember_generate(s, kStoryPrompt.c_str(), &p, nullptr) == EMBER_OK) t = out.text;
            ember_session_free(s);
        });
    for (auto &th : threads) th.join();
    for (const std::string &t : texts) CHECK(t == kStoryGreedy);
}

TEST_CASE("the log callback receives warnings, quiet by default") {
    static std::vector<std::string> messages;
    messages.clear();
    ember_set_log_callback([](ember_log_level, const char *msg, void *) { messages.emplace_back(msg); }, EMBER_LOG_WARN,
                           nullptr);
    ember_model_params p = ember_model_default_params();
    p.n_gpu_layers = 3;
    {
        ModelHandle model(model_path("stories260K.gguf"), &p);
    }
    ember_set_log_callback(nullptr, EMBER_LOG_NONE, nullptr);
    REQUIRE(messages.size() == 1);
    CHECK_THAT(messages[0], Catch::Contains("n_gpu_layers"));
    {
        ModelHandle model(model_path("stories260K.gguf"), &p);
    }
    CHECK(messages.size() == 1);
}

TEST_CASE("grammar and JSON Schema stages through the C ABI") {
    ModelHandle model(model_path("stories260K.gguf"));
    SessionHandle session(model.m);
    ember_sampler_params sp = ember_sampler_default_params();
    sp.temperature = 1.0f;
    sp.seed = 11;

    // A grammar the model would never follow on its own: digits and commas, ended by ".".
    ember_sampler *list = nullptr;
    REQUIRE(ember_sampler_create(&sp, &list) == EMBER_OK);
    REQUIRE(ember_sampler_add_grammar(list, model.m, "root ::= item (\",\" item){0,4} \".\"\nitem ::= [0-9]{1,2}", nullptr) == EMBER_OK);
    bool complete = true;
    REQUIRE(ember_sampler_is_complete(list, &complete) == EMBER_OK);
    CHECK_FALSE(complete);
    Stream constrained;
    {
        ember_generate_params p = ember_generate_default_params();
        p.max_tokens = 64;
        p.sampler = list;
        p.callback = collect;
        p.user_data = &constrained;
        ember_generate_result res{};
        res.struct_size = sizeof res;
        REQUIRE(ember_generate(session.s, kStoryPrompt.c_str(), &p, &res) == EMBER_OK);
        CHECK(res.stop_reason == EMBER_STOP_EOG);  // EOS comes only once the grammar is complete
    }
    INFO(constrained.text);
    CHECK(constrained.text.back() == '.');
    CHECK(constrained.text.find_first_not_of("0123456789,.") == std::string::npos);
    REQUIRE(ember_sampler_is_complete(list, &complete) == EMBER_OK);
    CHECK(complete);
    ember_sampler_free(list);

    // Errors: nothing thrown, a status and a message; the chain stays usable.
    ember_sampler *chain = nullptr;
    REQUIRE(ember_sampler_chain_create(&chain) == EMBER_OK);
    CHECK(ember_sampler_add_grammar(chain, model.m, "root ::= \"a\"\nbad ::= [", nullptr) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ember_last_error()).find("line 2, column 9") != std::string::npos);
    CHECK(ember_sampler_add_grammar(chain, model.m, "start ::= \"a\"", "begin") == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ember_last_error()).find("'begin'") != std::string::npos);
    CHECK(ember_sampler_add_grammar(chain, nullptr, "root ::= \"a\"", nullptr) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_sampler_add_grammar(nullptr, model.m, "root ::= \"a\"", nullptr) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_sampler_add_grammar(chain, model.m, nullptr, nullptr) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_sampler_add_json_schema(chain, model.m, R"({"type":"object","properties":{"a":{"not":{}}}})") ==
          EMBER_ERR_UNSUPPORTED);
    CHECK(std::string(ember_last_error()).find("'not' at #/properties/a") != std::string::npos);
    CHECK(ember_sampler_add_json_schema(chain, model.m, "{oops") == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(ember_sampler_is_complete(chain, nullptr) == EMBER_ERR_INVALID_ARGUMENT);
    REQUIRE(ember_sampler_is_complete(chain, &complete) == EMBER_OK);
    CHECK(complete);  // no grammar stage was added
    // accept() follows the grammar: a token it does not allow is refused; after the end of
    // generation nothing may follow.
    REQUIRE(ember_sampler_add_grammar(chain, model.m, "root ::= \".\"", nullptr) == EMBER_OK);
    ember_token dot = -1, letter = -1;
    for (ember_token id = 0; id < ember_model_n_vocab(model.m); ++id) {
        char piece[16];
        size_t n = 0;
        if (ember_token_to_piece(model.m, id, false, piece, sizeof piece, &n) != EMBER_OK) continue;
        if (std::string(piece, n) == ".") dot = id;
        if (std::string(piece, n) == "a") letter = id;
    }
    REQUIRE(dot >= 0);
    REQUIRE(letter >= 0);
    CHECK(ember_sampler_accept(chain, letter) == EMBER_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ember_last_error()).find("does not continue the grammar") != std::string::npos);
    REQUIRE(ember_sampler_accept(chain, dot) == EMBER_OK);
    REQUIRE(ember_sampler_is_complete(chain, &complete) == EMBER_OK);
    CHECK(complete);
    std::vector<float> logits(static_cast<size_t>(ember_model_n_vocab(model.m)), 0.0f);
    ember_token t = -1;
    REQUIRE(ember_sampler_sample_logits(chain, logits.data(), static_cast<int32_t>(logits.size()), &t) == EMBER_OK);
    CHECK(ember_token_is_eog(model.m, t));  // complete, nothing may follow: only the end
    REQUIRE(ember_sampler_accept(chain, t) == EMBER_OK);
    CHECK(ember_sampler_sample_logits(chain, logits.data(), static_cast<int32_t>(logits.size()), &t) ==
          EMBER_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ember_last_error()).find("after the end") != std::string::npos);
    REQUIRE(ember_sampler_reset(chain) == EMBER_OK);  // starts over
    REQUIRE(ember_sampler_is_complete(chain, &complete) == EMBER_OK);
    CHECK_FALSE(complete);
    ember_sampler_free(chain);

    // The schema -> GBNF conversion with the header's buffer conventions.
    const char *schema = R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})";
    size_t needed = 0;
    CHECK(ember_json_schema_to_grammar(schema, nullptr, 0, &needed) == EMBER_ERR_BUFFER_TOO_SMALL);
    REQUIRE(needed > 0);
    std::string gbnf(needed + 1, '\0');
    REQUIRE(ember_json_schema_to_grammar(schema, &gbnf[0], gbnf.size(), &needed) == EMBER_OK);
    gbnf.resize(needed);
    CHECK(gbnf.rfind("root ::= ", 0) == 0);
    ember_sampler *from_text = nullptr;
    REQUIRE(ember_sampler_chain_create(&from_text) == EMBER_OK);
    CHECK(ember_sampler_add_grammar(from_text, model.m, gbnf.c_str(), "root") == EMBER_OK);
    ember_sampler_free(from_text);
    CHECK(ember_json_schema_to_grammar(R"({"type":"string","format":"email"})", &gbnf[0], gbnf.size(), &needed) ==
          EMBER_ERR_UNSUPPORTED);
    CHECK(std::string(ember_last_error()).find("format 'email'") != std::string::npos);
}
