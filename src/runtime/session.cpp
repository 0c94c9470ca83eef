#include "runtime/session.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <thread>

#include "core/error.h"
#include "model/architecture.h"

namespace ember {

namespace {

uint32_t context_size(const Model &model, const SessionParams &p) {
    return p.n_ctx ? p.n_ctx : model.n_ctx_train();
}

// The backends of the global (local = false) or the sliding-window layers, in layer order.
std::vector<backend::Backend *> layers_of(const Model &model, bool local) {
    std::vector<backend::Backend *> out;
    const std::vector<backend::Backend *> all = model.layer_backends();
    for (uint32_t il = 0; il < all.size(); ++il)
        if (model.hparams().is_swa(il) == local) out.push_back(all[il]);
    return out;
}

}  // namespace

Session::Session(const Model &model, const SessionParams &params)
    : model_(model),
      params_(params),
      kv_(layers_of(model, false), model.hparams().n_embd_kv(), context_size(model, params), params.n_seq_max,
          params.kv_types, model.hparams().head_dim),
      scheduler_(model.backends()) {
    if (params_.n_ubatch == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "n_ubatch must be > 0");
    const model::Hparams &hp = model.hparams();
    if (hp.has_swa()) {
        const uint32_t cells = model::swa_cache_cells(kv_.n_cells(), hp.n_swa, params.n_seq_max, params_.n_ubatch);
        kv_swa_ = std::make_unique<model::KvCache>(layers_of(model, true), hp.n_embd_kv(), cells, params.n_seq_max,
                                                   params.kv_types, hp.head_dim);
        swa_floor_.assign(params.n_seq_max, std::numeric_limits<int32_t>::min());
    }
    size_t global = 0, local = 0;
    for (uint32_t il = 0; il < hp.n_layer; ++il)
        layer_views_.push_back(hp.is_swa(il) ? kv_swa_->layers()[local++] : kv_.layers()[global++]);
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
    std::vector<int32_t> placed, placed_swa;  // every cell this decode took, in each cache
    struct Unfinished {
        Session &s;
        std::vector<int32_t> &placed, &placed_swa;
        bool done = false;
        ~Unfinished() {
            if (done) return;
            s.kv_.release(placed);
            if (s.kv_swa_) s.kv_swa_->release(placed_swa);
            s.discard_outputs();
        }
    } unfinished{*this, placed, placed_swa};
    std::vector<int32_t> cells, cells_swa, out_rows;
    for (int64_t start = 0; start < n; start += params_.n_ubatch) {
        const int64_t len = std::min<int64_t>(params_.n_ubatch, n - start);
        const int32_t *pos = batch.positions.data() + start;
        const int32_t *seq = batch.seq_ids.data() + start;
        if (kv_swa_) check_window_history(pos, seq, len);
        if (!kv_.place(pos, seq, len, cells)) return EMBER_ERR_CONTEXT_FULL;  // cannot happen after the check above
        placed.insert(placed.end(), cells.begin(), cells.end());
        if (kv_swa_) {
            // Room for this micro-batch: drop what no later window can see.
            if (kv_swa_->n_free() < static_cast<uint32_t>(len))
                kv_swa_->prune_outside_window(static_cast<int32_t>(hp.n_swa), swa_floor_);
            if (!kv_swa_->place(pos, seq, len, cells_swa)) return EMBER_ERR_CONTEXT_FULL;
            placed_swa.insert(placed_swa.end(), cells_swa.begin(), cells_swa.end());
        }

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
        in.sliding_window = kv_swa_ != nullptr;
        in.n_ctx_per_seq = static_cast<int64_t>(kv_.n_cells() / std::max<uint32_t>(1, kv_.n_seq_max()));
        if (kv_swa_) kv_swa_->build_mask(pos, seq, len, mask_swa_, in.n_kv_swa, static_cast<int32_t>(hp.n_swa));
        GraphInputs inputs;
        inputs.data[static_cast<int>(InputKind::Tokens)] = batch.tokens.data() + start;
        inputs.data[static_cast<int>(InputKind::Positions)] = pos;
        inputs.data[static_cast<int>(InputKind::KvCells)] = cells.data();
        inputs.data[static_cast<int>(InputKind::Mask)] = mask_.data();
        inputs.data[static_cast<int>(InputKind::MaskSwa)] = mask_swa_.data();
        inputs.data[static_cast<int>(InputKind::KvCellsSwa)] = cells_swa.data();
        inputs.data[static_cast<int>(InputKind::OutputRows)] = out_rows.data();

        Graph graph;
        graph.finish(model_.arch().build(graph, hp, model_.weights(), in));
        graph.schedule(model_.placement());
        if (!scheduler_.run(graph, inputs, layer_views_, params_.n_threads, should_abort_)) return EMBER_ERR_ABORTED;
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

void Session::check_window_history(const int32_t *pos, const int32_t *seq, int64_t n_tokens) const {
    const int32_t window = static_cast<int32_t>(model_.hparams().n_swa);
    // Each sequence's lowest position in the micro-batch needs the most history.
    std::vector<int32_t> lowest(kv_.n_seq_max(), std::numeric_limits<int32_t>::max());
    for (int64_t t = 0; t < n_tokens; ++t) lowest[static_cast<size_t>(seq[t])] = std::min(lowest[static_cast<size_t>(seq[t])], pos[t]);
    for (int32_t s = 0; s < static_cast<int32_t>(lowest.size()); ++s) {
        const int32_t p = lowest[static_cast<size_t>(s)], floor = swa_floor_[static_cast<size_t>(s)];
        if (p == std::numeric_limits<int32_t>::max()) continue;
        const int32_t from = p - window + 1;
        // Above the floor nothing was pruned; below it the window cache holds a subset of the
        // global cells, so equal counts mean nothing in the window is missing.
        if (from >= floor || kv_.seq_count(s, from, p) == kv_swa_->seq_count(s, from, p)) continue;
        fail(EMBER_ERR_INVALID_ARGUMENT,
             "decode: sequence " + std::to_string(s) + " position " + std::to_string(p) +
                 ": the sliding-window layers no longer hold positions below " + std::to_string(floor) +
                 " (they keep the last " + std::to_string(window) + " of each sequence); remove the sequence from position " +
                 std::to_string(std::max(0, from)) + " or earlier and decode it again");
    }
}

void Session::seq_rm(int32_t seq, int32_t p0, int32_t p1) {
    kv_.seq_rm(seq, p0, p1);
    if (kv_swa_) kv_swa_->seq_rm(seq, p0, p1);
}

void Session::seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    kv_.seq_cp(src, dst, p0, p1);
    if (!kv_swa_) return;
    kv_swa_->seq_cp(src, dst, p0, p1);
    // dst now holds src's cells, complete in kv_swa_ only from src's floor.
    int32_t &floor = swa_floor_.at(static_cast<size_t>(dst));
    floor = std::max(floor, swa_floor_.at(static_cast<size_t>(src)));
}

void Session::seq_keep(int32_t seq) {
    kv_.seq_keep(seq);
    if (kv_swa_) kv_swa_->seq_keep(seq);
}

void Session::clear() {
    kv_.clear();
    if (!kv_swa_) return;
    kv_swa_->clear();
    std::fill(swa_floor_.begin(), swa_floor_.end(), std::numeric_limits<int32_t>::min());
}

size_t Session::kv_bytes() const { return kv_.bytes() + (kv_swa_ ? kv_swa_->bytes() : 0); }

size_t Session::kv_bytes_on(const backend::Backend &b) const {
    return kv_.bytes_on(b) + (kv_swa_ ? kv_swa_->bytes_on(b) : 0);
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
// i32 row_to_output[n_rows], f32 outputs[n_outputs][width]), then u64 bytes + the KV cache's
// own state, then for a model with sliding-window layers i32 floor[n_seq_max] and u64 bytes +
// their cache's state.
namespace {
constexpr uint32_t kSessionMagic = 0x53534d45;  // "EMSS"
constexpr uint32_t kSessionVersion = 2;

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
    // Each cache appends its state after a length that is filled in afterwards: the state can
    // be most of the cache, so it is not built apart and copied.
    auto put_cache = [&](const model::KvCache &kv) {
        const size_t at = out.size();
        const uint64_t placeholder = 0;
        put(out, &placeholder, 1);
        kv.write_state(out);
        const uint64_t n = out.size() - at - sizeof placeholder;
        std::memcpy(out.data() + at, &n, sizeof n);
    };
    put_cache(kv_);
    if (kv_swa_) {
        put(out, swa_floor_.data(), swa_floor_.size());
        put_cache(*kv_swa_);
    }
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
    auto take_cache = [&](size_t *offset, size_t *bytes) {
        uint64_t n = 0;
        take(&n, sizeof n);
        if (n > size - at) fail(EMBER_ERR_BAD_FORMAT, "session state is truncated");
        *offset = at;
        *bytes = static_cast<size_t>(n);
        at += static_cast<size_t>(n);
    };
    size_t kv_at = 0, kv_size = 0, swa_at = 0, swa_size = 0;
    take_cache(&kv_at, &kv_size);
    std::vector<int32_t> floors(swa_floor_.size());
    if (kv_swa_) {
        take(floors.data(), floors.size() * sizeof(int32_t));
        take_cache(&swa_at, &swa_size);
    }
    if (at != size) fail(EMBER_ERR_BAD_FORMAT, "session state has trailing bytes (another model or context shape?)");
    // Each cache validates before changing anything; if the second refuses, the first is put back.
    if (kv_swa_) {
        std::vector<uint8_t> before;
        kv_swa_->write_state(before);
        kv_swa_->read_state(data + swa_at, swa_size);
        try {
            kv_.read_state(data + kv_at, kv_size);
        } catch (...) {
            kv_swa_->read_state(before.data(), before.size());
            throw;
        }
        swa_floor_ = std::move(floors);
    } else {
        kv_.read_state(data + kv_at, kv_size);
    }
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
