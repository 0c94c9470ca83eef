// C ABI: sessions, batches, outputs, KV cache editing and state.
#include <cstring>
#include <map>
#include <string>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"
#include "model/kv_cache.h"
#include "core/log.h"

using namespace ember;

namespace {

ember_session_params default_session_params() {
    const SessionParams d;
    ember_session_params p{};
    p.struct_size = sizeof p;
    p.n_ctx = d.n_ctx;
    p.n_batch = d.n_ubatch;
    p.n_seq_max = d.n_seq_max;
    p.n_threads = d.n_threads;
    p.kv_type = EMBER_KV_F16;
    p.embeddings = false;
    p.pooling = EMBER_POOLING_NONE;
    return p;
}

// An ember_kv_type as the runtime's tensor type.
TensorType kv_tensor_type(int32_t type, const char *field) {
    TensorType t;
    if (!model::kv_type_from_id(type, &t))
        fail(EMBER_ERR_INVALID_ARGUMENT, std::string(field) + " " + std::to_string(type) + " is not an ember_kv_type");
    return t;
}

void install_abort(ember_session &s) {
    if (!s.abort_callback) {
        s.session->set_abort_callback(nullptr);
        return;
    }
    ember_abort_callback cb = s.abort_callback;
    void *ud = s.abort_user_data;
    s.session->set_abort_callback([cb, ud] { return cb(ud); });
}

// The C batch as the runtime's, filling the defaults the header documents.
Batch to_batch(const ember_session &s, const ember_batch &b) {
    if (b.struct_size < sizeof(uint32_t)) fail(EMBER_ERR_INVALID_ARGUMENT, "ember_batch.struct_size is not set");
    const ember_batch v = api::read_params(&b, ember_batch{}, "ember_batch");
    if (v.n_tokens <= 0) fail(EMBER_ERR_INVALID_ARGUMENT, "batch has " + std::to_string(v.n_tokens) + " tokens");
    if (!v.tokens) fail(EMBER_ERR_INVALID_ARGUMENT, "batch tokens is NULL");
    Batch batch;
    std::map<int32_t, int32_t> next_pos;  // per sequence, for positions == NULL
    for (int32_t i = 0; i < v.n_tokens; ++i) {
        const int32_t seq = v.seq_ids ? v.seq_ids[i] : 0;
        int32_t pos;
        if (v.positions) {
            pos = v.positions[i];
        } else {
            auto it = next_pos.find(seq);
            if (it == next_pos.end()) {
                const bool seq_ok = seq >= 0 && static_cast<uint32_t>(seq) < s.session->params().n_seq_max;
                it = next_pos.emplace(seq, seq_ok ? s.session->seq_pos_max(seq) + 1 : 0).first;
            }
            pos = it->second++;
        }
        const bool out = v.want_output ? v.want_output[i] != 0 : i + 1 == v.n_tokens;
        batch.add(v.tokens[i], pos, seq, out);
    }
    return batch;
}

template <typename Body>
ember_status with_session(ember_session *session, Body &&body) {
    return api::guarded([&] { body(api::require_handle(session, "session")); });
}

}  // namespace

extern "C" {

EMBER_API ember_session_params ember_session_default_params(void) { return default_session_params(); }

EMBER_API ember_status ember_kv_type_from_name(const char *name, int32_t *out) {
    return api::guarded([&] {
        if (!name || !out) fail(EMBER_ERR_INVALID_ARGUMENT, "name or out is NULL");
        TensorType t;
        if (!model::kv_type_from_name(name, &t))
            fail(EMBER_ERR_INVALID_ARGUMENT, std::string("'") + name + "' is not a KV cache type (" +
                                                 model::kv_type_names() + ")");
        *out = model::kv_type_id(t);
    });
}

EMBER_API const char *ember_kv_type_name(int32_t type) {
    TensorType t;
    return model::kv_type_from_id(type, &t) ? model::kv_type_name(t) : nullptr;
}

EMBER_API ember_status ember_session_create(const ember_model *model, const ember_session_params *params,
                                            ember_session **out) {
    if (out) *out = nullptr;
    return api::guarded([&] {
        if (!out) fail(EMBER_ERR_INVALID_ARGUMENT, "out is NULL");
        const ember_model &m = api::require_handle(model, "model");
        const ember_session_params p = api::read_params(params, default_session_params(), "ember_session_params");
        SessionParams sp;
        sp.n_ctx = p.n_ctx;
        sp.n_ubatch = p.n_batch;
        sp.n_seq_max = p.n_seq_max;
        sp.n_threads = p.n_threads;
        sp.kv_types.k = kv_tensor_type(p.kv_type, "kv_type");
        sp.kv_types.v = p.kv_type_v == 0 ? sp.kv_types.k : kv_tensor_type(p.kv_type_v - 1, "kv_type_v - 1");
        sp.embeddings = p.embeddings;
        switch (p.pooling) {
            case EMBER_POOLING_NONE: sp.pooling = Pooling::None; break;
            case EMBER_POOLING_MEAN: sp.pooling = Pooling::Mean; break;
            case EMBER_POOLING_LAST: sp.pooling = Pooling::Last; break;
            default: fail(EMBER_ERR_INVALID_ARGUMENT, "unknown pooling " + std::to_string(p.pooling));
        }
        auto s = std::make_unique<ember_session>();
        s->model = &m;
        s->session = std::make_unique<Session>(m.runnable(), sp);
        for (const std::string &w : s->session->warnings()) log_warn(w);
        s->abort_callback = p.abort_callback;
        s->abort_user_data = p.abort_user_data;
        install_abort(*s);
        *out = s.release();
    });
}

EMBER_API void ember_session_free(ember_session *session) { delete session; }

EMBER_API uint32_t ember_session_n_ctx(const ember_session *session) { return session ? session->session->n_ctx() : 0; }

EMBER_API ember_status ember_session_set_threads(ember_session *session, int32_t n_threads) {
    return with_session(session, [&](ember_session &s) { s.session->set_n_threads(n_threads); });
}

EMBER_API ember_status ember_session_set_abort_callback(ember_session *session, ember_abort_callback callback,
                                                        void *user_data) {
    return with_session(session, [&](ember_session &s) {
        s.abort_callback = callback;
        s.abort_user_data = user_data;
        install_abort(s);
    });
}

EMBER_API ember_batch ember_batch_simple(const ember_token *tokens, int32_t n_tokens) {
    ember_batch b{};
    b.struct_size = sizeof b;
    b.n_tokens = n_tokens;
    b.tokens = tokens;
    return b;
}

EMBER_API ember_status ember_decode(ember_session *session, const ember_batch *batch) {
    ember_status result = EMBER_OK;
    const ember_status st = with_session(session, [&](ember_session &s) {
        if (!batch) fail(EMBER_ERR_INVALID_ARGUMENT, "batch is NULL");
        result = s.session->decode(to_batch(s, *batch));
        if (result == EMBER_ERR_CONTEXT_FULL)
            api::set_last_error("the context (" + std::to_string(s.session->n_ctx()) + " cells) has no room for a batch of " +
                                std::to_string(batch->n_tokens) + " tokens");
        else if (result == EMBER_ERR_ABORTED)
            api::set_last_error("decode aborted by the abort callback");
    });
    return st != EMBER_OK ? st : result;
}

EMBER_API ember_status ember_session_logits(const ember_session *session, int32_t row, const float **logits) {
    if (logits) *logits = nullptr;
    return api::guarded([&] {
        const ember_session &s = api::require_handle(session, "session");
        if (!logits) fail(EMBER_ERR_INVALID_ARGUMENT, "logits is NULL");
        *logits = s.session->logits(row);
    });
}

EMBER_API ember_status ember_session_embeddings(const ember_session *session, int32_t row, const float **embedding) {
    if (embedding) *embedding = nullptr;
    return api::guarded([&] {
        const ember_session &s = api::require_handle(session, "session");
        if (!embedding) fail(EMBER_ERR_INVALID_ARGUMENT, "embedding is NULL");
        *embedding = s.session->embeddings(row);
    });
}

EMBER_API ember_status ember_session_seq_embeddings(const ember_session *session, int32_t seq_id,
                                                    const float **embedding) {
    if (embedding) *embedding = nullptr;
    return api::guarded([&] {
        const ember_session &s = api::require_handle(session, "session");
        if (!embedding) fail(EMBER_ERR_INVALID_ARGUMENT, "embedding is NULL");
        *embedding = s.session->sequence_embeddings(seq_id);
    });
}

EMBER_API ember_status ember_kv_seq_remove(ember_session *session, int32_t seq_id, int32_t p0, int32_t p1) {
    return with_session(session, [&](ember_session &s) { s.session->seq_rm(seq_id, p0, p1); });
}
EMBER_API ember_status ember_kv_seq_copy(ember_session *session, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    return with_session(session, [&](ember_session &s) { s.session->seq_cp(src, dst, p0, p1); });
}
EMBER_API ember_status ember_kv_seq_keep(ember_session *session, int32_t seq_id) {
    return with_session(session, [&](ember_session &s) { s.session->seq_keep(seq_id); });
}
EMBER_API ember_status ember_kv_clear(ember_session *session) {
    return with_session(session, [&](ember_session &s) { s.session->clear(); });
}
EMBER_API int32_t ember_kv_seq_pos_max(const ember_session *session, int32_t seq_id) {
    int32_t pos = -1;
    api::guarded([&] { pos = api::require_handle(session, "session").session->seq_pos_max(seq_id); });
    return pos;
}

EMBER_API ember_status ember_state_save(const ember_session *session, void *buf, size_t buf_size, size_t *needed) {
    return api::guarded([&] {
        const ember_session &s = api::require_handle(session, "session");
        const std::vector<uint8_t> state = s.session->save_state();
        if (needed) *needed = state.size();
        if (!buf || buf_size < state.size())
            fail(EMBER_ERR_BUFFER_TOO_SMALL, "the state needs " + std::to_string(state.size()) + " bytes");
        std::memcpy(buf, state.data(), state.size());
    });
}

EMBER_API ember_status ember_state_load(ember_session *session, const void *data, size_t size) {
    return with_session(session, [&](ember_session &s) {
        if (!data) fail(EMBER_ERR_INVALID_ARGUMENT, "data is NULL");
        s.session->load_state(static_cast<const uint8_t *>(data), size);
    });
}

EMBER_API ember_status ember_state_save_file(const ember_session *session, const char *path) {
    return api::guarded([&] {
        const ember_session &s = api::require_handle(session, "session");
        if (!path) fail(EMBER_ERR_INVALID_ARGUMENT, "path is NULL");
        s.session->save_state_file(path);
    });
}

EMBER_API ember_status ember_state_load_file(ember_session *session, const char *path) {
    return with_session(session, [&](ember_session &s) {
        if (!path) fail(EMBER_ERR_INVALID_ARGUMENT, "path is NULL");
        s.session->load_state_file(path);
    });
}

}  // extern "C"
