#include "runtime/session.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "model/architecture.h"

namespace ember {

namespace {

uint32_t context_size(const Model &model, const SessionParams &p) {
    return p.n_ctx ? p.n_ctx : model.n_ctx_train();
}

}  // namespace

Session::Session(const Model &model, const SessionParams &params)
    : model_(model),
      params_(params),
      kv_(model.layer_backends(), model.hparams().n_embd_kv(), context_size(model, params), params.n_seq_max,
          params.kv_type),
      scheduler_(model.backends()) {
    if (params_.n_ubatch == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "n_ubatch must be > 0");
    if (params_.n_threads <= 0) params_.n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (!params_.embeddings && params_.pooling != Pooling::None)
        fail(EMBER_ERR_INVALID_ARGUMENT, "pooling needs embeddings mode");
    if (kv_.n_cells() > model.n_ctx_train())
        warnings_.push_back("context " + std::to_string(kv_.n_cells()) + " exceeds the model's training context " +
                            std::to_string(model.n_ctx_train()) + "; quality may degrade beyond it");
}

void Session::set_n_threads(int n_threads) {
    if (n_threads <= 0) fail(EMBER_ERR_INVALID_ARGUMENT, "n_threads must be > 0");
    params_.n_threads = n_threads;
}

void Session::check_batch(const Batch &b) const {
    const size_t n = b.tokens.size();
    if (n == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "decode: empty batch");
    if (b.positions.size() != n || b.seq_ids.size() != n || b.want_output.size() != n)
        fail(EMBER_ERR_INVALID_ARGUMENT, "decode: batch arrays differ in length");
    for (size_t i = 0; i < n; ++i) {
        if (b.tokens[i] < 0 || static_cast<uint32_t>(b.tokens[i]) >= model_.n_vocab())
            fail(EMBER_ERR_INVALID_ARGUMENT, "decode: batch row " + std::to_string(i) + ": token " +
                                                 std::to_string(b.tokens[i]) + " is outside the vocabulary (" +
                                                 std::to_string(model_.n_vocab()) + ")");
        if (b.positions[i] < 0)
            fail(EMBER_ERR_INVALID_ARGUMENT, "decode: batch row " + std::to_string(i) + ": negative position");
        if (b.seq_ids[i] < 0 || static_cast<uint32_t>(b.seq_ids[i]) >= kv_.n_seq_max())
            fail(EMBER_ERR_INVALID_ARGUMENT, "decode: batch row " + std::to_string(i) + ": sequence id " +
                                                 std::to_string(b.seq_ids[i]) + " is outside 0.." +
                                                 std::to_string(kv_.n_seq_max() - 1));
    }
}

ember_status Session::decode(const Batch &batch) {
    check_batch(batch);
    const int64_t n = static_cast<int64_t>(batch.size());
    if (n > static_cast<int64_t>(kv_.n_free())) return EMBER_ERR_CONTEXT_FULL;

    const model::Hparams &hp = model_.hparams();
    const bool pooled = params_.embeddings && params_.pooling != Pooling::None;
    output_width_ = static_cast<int32_t>(params_.embeddings ? hp.n_embd : hp.n_vocab);

    // Which rows produce output, and where it goes (pooling needs every row's hidden state).
    row_to_output_.assign(static_cast<size_t>(n), -1);
    n_outputs_ = 0;
    for (int64_t i = 0; i < n; ++i)
        if (pooled || batch.want_output[static_cast<size_t>(i)]) row_to_output_[static_cast<size_t>(i)] = n_outputs_++;
    outputs_.resize(static_cast<size_t>(n_outputs_) * static_cast<size_t>(output_width_));

    // From here on the previous outputs are being overwritten: a decode that does not finish
    // (aborted, or an error thrown by a backend) takes its cells out of the cache again and
    // leaves no outputs, so nothing stale or half-written can be read.
    std::vector<int32_t> placed;  // every cell this decode took
    struct Unfinished {
        Session &s;
        std::vector<int32_t> &placed;
        bool done = false;
        ~Unfinished() {
            if (done) return;
            s.kv_.release(placed);
            s.discard_outputs();
        }
    } unfinished{*this, placed};
    std::vector<int32_t> cells, out_rows;
    for (int64_t start = 0; start < n; start += params_.n_ubatch) {
        const int64_t len = std::min<int64_t>(params_.n_ubatch, n - start);
        const int32_t *pos = batch.positions.data() + start;
        const int32_t *seq = batch.seq_ids.data() + start;
        if (!kv_.place(pos, seq, len, cells)) return EMBER_ERR_CONTEXT_FULL;  // cannot happen after the check above
        placed.insert(placed.end(), cells.begin(), cells.end());

        out_rows.clear();
        for (int64_t i = 0; i < len; ++i)
            if (row_to_output_[static_cast<size_t>(start + i)] >= 0) out_rows.push_back(static_cast<int32_t>(i));
        // A micro-batch without outputs still fills the cache; its head's one row is computed
        // and discarded (keeps shapes valid).
        const bool any_output = !out_rows.empty();
        if (!any_output) out_rows.push_back(static_cast<int32_t>(len - 1));

        model::BuildInput in;
        in.n_tokens = len;
        in.n_outputs = static_cast<int64_t>(out_rows.size());
        kv_.build_mask(pos, seq, len, mask_, in.n_kv);
        in.embeddings = params_.embeddings;
        in.sliding_window = hp.has_swa();
        in.n_ctx_per_seq = static_cast<int64_t>(kv_.n_cells() / std::max<uint32_t>(1, kv_.n_seq_max()));
        if (in.sliding_window) {
            int64_t n_kv_swa = 0;
            kv_.build_mask(pos, seq, len, mask_swa_, n_kv_swa, static_cast<int32_t>(hp.n_swa));
        }
        GraphInputs inputs;
        inputs.data[static_cast<int>(InputKind::Tokens)] = batch.tokens.data() + start;
        inputs.data[static_cast<int>(InputKind::Positions)] = pos;
        inputs.data[static_cast<int>(InputKind::KvCells)] = cells.data();
        inputs.data[static_cast<int>(InputKind::Mask)] = mask_.data();
        inputs.data[static_cast<int>(InputKind::MaskSwa)] = mask_swa_.data();
        inputs.data[static_cast<int>(InputKind::OutputRows)] = out_rows.data();

        Graph graph;
        graph.finish(model_.arch().build(graph, hp, model_.weights(), in));
        graph.schedule(model_.placement());
        if (!scheduler_.run(graph, inputs, kv_.layers(), params_.n_threads, should_abort_)) return EMBER_ERR_ABORTED;
        if (any_output) {
            const int32_t first = row_to_output_[static_cast<size_t>(start + out_rows[0])];
            scheduler_.read_output(graph, outputs_.data() + static_cast<size_t>(first) * static_cast<size_t>(output_width_),
                                   out_rows.size() * static_cast<size_t>(output_width_) * sizeof(float));
        }
    }
    if (pooled) pool_embeddings(batch);
    unfinished.done = true;
    return EMBER_OK;
}

void Session::discard_outputs() {
    n_outputs_ = 0;
    row_to_output_.clear();
    pooled_seqs_.clear();
    pooled_.clear();
}

size_t Session::compute_bytes(int backend) const {
    size_t n = scheduler_.arena_bytes(backend);
    if (backend == kCpuBackend) n += (mask_.capacity() + mask_swa_.capacity() + outputs_.capacity()) * sizeof(float);
    return n;
}

size_t Session::compute_bytes() const {
    size_t n = 0;
    for (int b = 0; b < model_.placement().n_backends; ++b) n += compute_bytes(b);
    return n;
}

void Session::pool_embeddings(const Batch &batch) {
    const size_t width = static_cast<size_t>(output_width_);
    pooled_seqs_.clear();
    pooled_.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
        const int32_t s = batch.seq_ids[i];
        if (std::find(pooled_seqs_.begin(), pooled_seqs_.end(), s) == pooled_seqs_.end()) pooled_seqs_.push_back(s);
    }
    pooled_.assign(pooled_seqs_.size() * width, 0.0f);
    for (size_t k = 0; k < pooled_seqs_.size(); ++k) {
        float *dst = pooled_.data() + k * width;
        int count = 0;
        int32_t last_pos = -1;
        for (size_t i = 0; i < batch.size(); ++i) {
            if (batch.seq_ids[i] != pooled_seqs_[k]) continue;
            const float *h = outputs_.data() + static_cast<size_t>(row_to_output_[i]) * width;
            if (params_.pooling == Pooling::Mean) {
                for (size_t j = 0; j < width; ++j) dst[j] += h[j];
                ++count;
            } else if (batch.positions[i] >= last_pos) {  // Last: the highest position
                std::copy(h, h + width, dst);
                last_pos = batch.positions[i];
            }
        }
        if (count > 0)
            for (size_t j = 0; j < width; ++j) dst[j] /= static_cast<float>(count);
    }
}

const float *Session::logits(int32_t i) const {
    if (params_.embeddings) fail(EMBER_ERR_INVALID_ARGUMENT, "logits: the session is in embeddings mode");
    if (n_outputs_ == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "logits: the last decode produced no logits");
    int32_t out = -1;
    if (i < 0) {
        for (int32_t r : row_to_output_) out = std::max(out, r);
    } else if (static_cast<size_t>(i) < row_to_output_.size()) {
        out = row_to_output_[static_cast<size_t>(i)];
    }
    if (out < 0) fail(EMBER_ERR_INVALID_ARGUMENT, "logits: batch row " + std::to_string(i) + " had no logits requested");
    return outputs_.data() + static_cast<size_t>(out) * static_cast<size_t>(output_width_);
}

const float *Session::embeddings(int32_t i) const {
    if (!params_.embeddings) fail(EMBER_ERR_INVALID_ARGUMENT, "embeddings: the session is not in embeddings mode");
    if (n_outputs_ == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "embeddings: the last decode produced no outputs");
    if (i < 0 || static_cast<size_t>(i) >= row_to_output_.size() || row_to_output_[static_cast<size_t>(i)] < 0)
        fail(EMBER_ERR_INVALID_ARGUMENT, "embeddings: batch row " + std::to_string(i) + " had no output requested");
    return outputs_.data() + static_cast<size_t>(row_to_output_[static_cast<size_t>(i)]) * static_cast<size_t>(output_width_);
}

const float *Session::sequence_embeddings(int32_t seq_id) const {
    const auto it = std::find(pooled_seqs_.begin(), pooled_seqs_.end(), seq_id);
    if (it == pooled_seqs_.end())
        fail(EMBER_ERR_INVALID_ARGUMENT, "sequence_embeddings: no pooled embedding for sequence " + std::to_string(seq_id));
    return pooled_.data() + static_cast<size_t>(it - pooled_seqs_.begin()) * static_cast<size_t>(output_width_);
}

// State: u32 magic, u32 version, then the outputs (i32 n_rows, i32 n_outputs, i32 width,
// i32 row_to_output[n_rows], f32 outputs[n_outputs][width]), then the KV cache's own state.
namespace {
constexpr uint32_t kSessionMagic = 0x53534d45;  // "EMSS"
constexpr uint32_t kSessionVersion = 1;

template <class T>
void put(std::vector<uint8_t> &out, const T *p, size_t n) {
    const size_t at = out.size();
    out.resize(at + n * sizeof(T));
    if (n) std::memcpy(out.data() + at, p, n * sizeof(T));
}
}  // namespace

std::vector<uint8_t> Session::save_state() const {
    std::vector<uint8_t> out;
    const uint32_t header[2] = {kSessionMagic, kSessionVersion};
    put(out, header, 2);
    const int32_t dims[3] = {static_cast<int32_t>(row_to_output_.size()), n_outputs_, output_width_};
    put(out, dims, 3);
    put(out, row_to_output_.data(), row_to_output_.size());
    put(out, outputs_.data(), static_cast<size_t>(n_outputs_) * static_cast<size_t>(output_width_));
    kv_.write_state(out);
    return out;
}

void Session::load_state(const uint8_t *data, size_t size) {
    size_t at = 0;
    auto take = [&](void *dst, size_t bytes) {
        if (size - at < bytes) fail(EMBER_ERR_BAD_FORMAT, "session state is truncated");
        std::memcpy(dst, data + at, bytes);
        at += bytes;
    };
    uint32_t header[2];
    take(header, sizeof header);
    if (header[0] != kSessionMagic || header[1] != kSessionVersion)
        fail(EMBER_ERR_BAD_FORMAT, "not an Ember session state (or another version)");
    int32_t dims[3];
    take(dims, sizeof dims);
    const int32_t expected_width =
        static_cast<int32_t>(params_.embeddings ? model_.hparams().n_embd : model_.hparams().n_vocab);
    if (dims[0] < 0 || dims[1] < 0 || dims[1] > dims[0] || (dims[1] > 0 && dims[2] != expected_width))
        fail(EMBER_ERR_BAD_FORMAT, "session state does not match this model or mode");
    std::vector<int32_t> rows(static_cast<size_t>(dims[0]));
    take(rows.data(), rows.size() * sizeof(int32_t));
    for (int32_t r : rows)
        if (r < -1 || r >= dims[1]) fail(EMBER_ERR_BAD_FORMAT, "session state has an invalid output row");
    std::vector<float> outputs(static_cast<size_t>(dims[1]) * static_cast<size_t>(dims[2]));
    take(outputs.data(), outputs.size() * sizeof(float));
    kv_.read_state(data + at, size - at);  // validates before changing anything
    row_to_output_ = std::move(rows);
    outputs_ = std::move(outputs);
    n_outputs_ = dims[1];
    output_width_ = expected_width;
    pooled_seqs_.clear();
    pooled_.clear();
}

void Session::save_state_file(const std::string &path) const {
    const std::vector<uint8_t> state = save_state();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f.write(reinterpret_cast<const char *>(state.data()), static_cast<std::streamsize>(state.size())))
        fail(EMBER_ERR_IO, path + ": cannot write session state");
}

void Session::load_state_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(EMBER_ERR_IO, path + ": cannot open session state");
    std::vector<uint8_t> state((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    load_state(state.data(), state.size());
}

}  // namespace ember
