// A session: one KV cache over a shared model, decoding batches and holding the outputs of
// the last decode. Use a session from one thread at a time; several sessions may share a model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "ember/ember.h"
#include "model/kv_cache.h"
#include "runtime/batch.h"
#include "runtime/model.h"
#include "runtime/scheduler.h"

namespace ember {

enum class Pooling { None, Mean, Last };

struct SessionParams {
    uint32_t n_ctx = 0;          // KV cells; 0: the model's training context
    uint32_t n_ubatch = 512;     // tokens per micro-batch (a decode may hold more)
    uint32_t n_seq_max = 1;      // independent sequences, up to 64
    int n_threads = 0;           // 0: the number of hardware threads
    model::KvTypes kv_types;     // K and V row types (model::kv_type_supported)
    bool embeddings = false;     // output final hidden states instead of logits
    Pooling pooling = Pooling::None;
};

class Session {
public:
    // Throws ember::Error for invalid params.
    Session(const Model &model, const SessionParams &params);

    // Decodes a batch: stores its tokens in the KV cache and computes the outputs of the rows
    // whose flag is set. Returns EMBER_OK, EMBER_ERR_CONTEXT_FULL (not enough free cells for
    // the whole batch: nothing is changed) or EMBER_ERR_ABORTED (the abort callback said stop:
    // the batch's tokens are removed again and the session stays usable). Throws ember::Error
    // (EMBER_ERR_INVALID_ARGUMENT) for a malformed batch: token, position or sequence out of range.
    ember_status decode(const Batch &batch);

    // Logits of batch row i of the last decode ([n_vocab] floats); i = -1: the last row that
    // had output. Throws when row i had no output.
    const float *logits(int32_t i) const;
    // Hidden state of batch row i (embeddings mode, [n_embd]).
    const float *embeddings(int32_t i) const;
    // Pooled embedding of a sequence of the last decode (embeddings mode with pooling).
    const float *sequence_embeddings(int32_t seq_id) const;
    int32_t n_outputs() const { return n_outputs_; }

    // KV cache editing (p1 < 0: to the end; seq < 0 in seq_rm: every sequence), on both
    // caches where the model has sliding-window layers.
    void seq_rm(int32_t seq, int32_t p0, int32_t p1);
    void seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1);
    void seq_keep(int32_t seq);
    void clear();
    int32_t seq_pos_max(int32_t seq) const { return kv_.seq_pos_max(seq); }

    // The KV cache and the last outputs, to restore later into a session of the same model
    // and shape (n_ctx may differ if the cells fit).
    std::vector<uint8_t> save_state() const;
    void load_state(const uint8_t *data, size_t size);
    void save_state_file(const std::string &path) const;
    void load_state_file(const std::string &path);

    // Called between layers of a decode; returning true stops it with EMBER_ERR_ABORTED.
    void set_abort_callback(std::function<bool()> should_abort) { should_abort_ = std::move(should_abort); }
    void set_n_threads(int n_threads);

    const Model &model() const { return model_; }
    const SessionParams &params() const { return params_; }
    uint32_t n_ctx() const { return kv_.n_cells(); }
    // The cache of the global layers (every layer's cells, for a model without a sliding
    // window), and that of the sliding-window layers (nullptr without any): it keeps each
    // sequence's last window positions plus a micro-batch, not the whole context.
    const model::KvCache &kv_cache() const { return kv_; }
    const model::KvCache *kv_cache_swa() const { return kv_swa_.get(); }
    size_t kv_bytes() const;                               // both caches
    size_t kv_bytes_on(const backend::Backend &b) const;   // both caches' layers on b
    // Bytes this session holds for computing on backend b (grown by decodes, never shrunk):
    // b's activation arena, plus on the CPU the attention mask of a micro-batch and the
    // outputs of the last decode. The KV cache is kv_cache().bytes_on(); matmul scratch
    // (activations converted for the weight type, per thread) is not counted.
    size_t compute_bytes(int backend) const;
    size_t compute_bytes() const;  // on every backend
    // Non-fatal notes from construction (e.g. a context beyond the training context).
    const std::vector<std::string> &warnings() const { return warnings_; }

private:
    void check_batch(const Batch &batch) const;
    // Throws when a token's window reaches below what the sliding-window cache still holds.
    void check_window_history(const int32_t *pos, const int32_t *seq, int64_t n_tokens) const;
    void pool_embeddings(const Batch &batch);
    void discard_outputs();  // after a decode that did not finish: nothing may be read

    const Model &model_;
    SessionParams params_;
    model::KvCache kv_;
    std::unique_ptr<model::KvCache> kv_swa_;
    // Per sequence: kv_swa_ holds every cell kv_ holds at this position or above (cells below
    // may have been pruned as outside any later window).
    std::vector<int32_t> swa_floor_;
    std::vector<backend::KvLayer> layer_views_;  // each layer's rows, in whichever cache holds them
    Scheduler scheduler_;
    std::function<bool()> should_abort_;
    std::vector<std::string> warnings_;

    // Outputs of the last decode: row_to_output_[i] is batch row i's output index or -1.
    int32_t n_outputs_ = 0;
    int32_t output_width_ = 0;  // n_vocab, or n_embd in embeddings mode
    std::vector<int32_t> row_to_output_;
    std::vector<float> outputs_;         // [n_outputs][output_width]
    std::vector<float> mask_;            // [n_ubatch][n_kv] of the current micro-batch
    std::vector<float> mask_swa_;        // the same for the sliding-window layers (if any)
    std::vector<int32_t> pooled_seqs_;   // sequence of each pooled row
    std::vector<float> pooled_;          // [n_pooled][n_embd]
};

}  // namespace ember
