#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>

#include "core/error.h"

namespace ember::model {

uint32_t swa_cache_cells(uint32_t n_ctx, uint32_t window, uint32_t n_seq_max, uint32_t n_ubatch) {
    const uint64_t n = static_cast<uint64_t>(window) * n_seq_max + n_ubatch;
    return static_cast<uint32_t>(std::min<uint64_t>(n, n_ctx));
}

namespace {

// In the order of ember_kv_type (ember.h), with llama.cpp's names.
constexpr TensorType kKvTypes[] = {TensorType::F16,  TensorType::F32,  TensorType::BF16,
                                   TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_1,
                                   TensorType::IQ4_NL, TensorType::Q5_0, TensorType::Q5_1};
constexpr const char *kKvTypeNames[] = {"f16", "f32", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"};
static_assert(std::size(kKvTypes) == std::size(kKvTypeNames));

}  // namespace

bool kv_type_supported(TensorType type) { return kv_type_id(type) >= 0; }

const char *kv_type_names() {
    static const std::string names = [] {
        std::string s;
        for (const char *name : kKvTypeNames) s += (s.empty() ? "" : ", ") + std::string(name);
        return s;
    }();
    return names.c_str();
}

bool kv_type_from_name(const std::string &name, TensorType *out) {
    TensorType t;
    if (!tensor_type_from_name(name, &t) || !kv_type_supported(t)) return false;
    *out = t;
    return true;
}

int32_t kv_type_id(TensorType type) {
    const auto *it = std::find(std::begin(kKvTypes), std::end(kKvTypes), type);
    return it == std::end(kKvTypes) ? -1 : static_cast<int32_t>(it - std::begin(kKvTypes));
}

bool kv_type_from_id(int32_t id, TensorType *out) {
    if (id < 0 || id >= static_cast<int32_t>(std::size(kKvTypes))) return false;
    *out = kKvTypes[id];
    return true;
}

const char *kv_type_name(TensorType type) {
    const int32_t id = kv_type_id(type);
    return id < 0 ? tensor_type_name(type) : kKvTypeNames[id];
}

KvCache::KvCache(const std::vector<backend::Backend *> &layer_backends, uint32_t n_embd_kv, uint32_t n_cells,
                 uint32_t n_seq_max, KvTypes types, uint32_t head_dim)
    : n_layer_(static_cast<uint32_t>(layer_backends.size())),
      n_embd_kv_(n_embd_kv),
      n_seq_max_(n_seq_max),
      types_(types),
      cells_(n_cells) {
    check_types(types, n_embd_kv, head_dim);
    if (n_seq_max == 0 || n_seq_max > kMaxSequences)
        fail(EMBER_ERR_INVALID_ARGUMENT, "n_seq_max " + std::to_string(n_seq_max) + " is outside 1.." +
                                             std::to_string(kMaxSequences));
    if (n_cells == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "KV cache of 0 cells");
    for (backend::Backend *b : layer_backends) {
        LayerStorage s{b, b->allocate(n_cells * row_bytes(n_embd_kv, types.k)),
                       b->allocate(n_cells * row_bytes(n_embd_kv, types.v))};
        views_.push_back({s.k->base(), s.v->base(), types.k, types.v});
        storage_.push_back(std::move(s));
    }
}

void KvCache::check_types(KvTypes types, uint32_t n_embd_kv, uint32_t head_dim) {
    for (TensorType t : {types.k, types.v}) {
        if (!kv_type_supported(t))
            fail(EMBER_ERR_UNSUPPORTED, std::string("KV cache type ") + tensor_type_name(t) + " (use one of " +
                                            kv_type_names() + ")");
        const uint32_t block = tensor_type_info(t).block_size;
        if (head_dim == 0 || head_dim % block != 0 || n_embd_kv % head_dim != 0)
            fail(EMBER_ERR_UNSUPPORTED, std::string("KV cache type ") + tensor_type_name(t) + " needs a head size that is a multiple of " +
                                            std::to_string(block) + "; this model's is " + std::to_string(head_dim));
    }
}

size_t KvCache::row_bytes(uint32_t n_embd_kv, TensorType type) { return tensor_row_bytes_checked(type, n_embd_kv); }

size_t KvCache::layer_bytes(uint32_t n_embd_kv, uint32_t n_cells, KvTypes types) {
    return static_cast<size_t>(n_cells) * (row_bytes(n_embd_kv, types.k) + row_bytes(n_embd_kv, types.v));
}

size_t KvCache::bytes() const { return storage_.size() * layer_bytes(n_embd_kv_, n_cells(), types_); }

size_t KvCache::bytes_on(const backend::Backend &b) const {
    size_t n = 0;
    for (const LayerStorage &s : storage_)
        if (s.backend == &b) n += layer_bytes(n_embd_kv_, n_cells(), types_);
    return n;
}

void KvCache::check_seq(int32_t seq, bool allow_all) const {
    if ((allow_all && seq < 0) || (seq >= 0 && static_cast<uint32_t>(seq) < n_seq_max_)) return;
    fail(EMBER_ERR_INVALID_ARGUMENT, "sequence id " + std::to_string(seq) + " is outside 0.." +
                                         std::to_string(n_seq_max_ - 1) + " (n_seq_max " + std::to_string(n_seq_max_) + ")");
}

bool KvCache::place(const int32_t *pos, const int32_t *seq, int64_t n_tokens, std::vector<int32_t> &cells) {
    for (int64_t t = 0; t < n_tokens; ++t) check_seq(seq[t], false);
    if (n_tokens > static_cast<int64_t>(n_free())) return false;
    cells.resize(static_cast<size_t>(n_tokens));
    uint32_t c = 0;
    for (int64_t t = 0; t < n_tokens; ++t) {
        while (!cells_[c].empty()) ++c;
        cells_[c].pos = pos[t];
        cells_[c].seqs = uint64_t{1} << seq[t];
        cells[static_cast<size_t>(t)] = static_cast<int32_t>(c);
        ++n_used_;
    }
    return true;
}

void KvCache::release(const std::vector<int32_t> &cells) {
    for (int32_t c : cells) drop(cells_[static_cast<size_t>(c)], ~uint64_t{0});
}

void KvCache::drop(Cell &cell, uint64_t seqs) {
    if (cell.empty()) return;
    cell.seqs &= ~seqs;
    if (cell.empty()) {
        cell.pos = -1;
        --n_used_;
    }
}

void KvCache::build_mask(const int32_t *pos, const int32_t *seq, int64_t n_tokens, std::vector<float> &mask,
                         int64_t &n_kv, int32_t window) const {
    n_kv = 0;
    for (size_t c = 0; c < cells_.size(); ++c)
        if (!cells_[c].empty()) n_kv = static_cast<int64_t>(c) + 1;
    constexpr float kHidden = -std::numeric_limits<float>::infinity();
    mask.assign(static_cast<size_t>(n_tokens * n_kv), kHidden);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const uint64_t bit = uint64_t{1} << seq[t];
        float *row = mask.data() + t * n_kv;
        for (int64_t c = 0; c < n_kv; ++c) {
            const Cell &cell = cells_[static_cast<size_t>(c)];
            if ((cell.seqs & bit) && cell.pos <= pos[t] && (window <= 0 || cell.pos > pos[t] - window)) row[c] = 0.0f;
        }
    }
}

void KvCache::prune_outside_window(int32_t window, std::vector<int32_t> &floor) {
    for (uint32_t s = 0; s < n_seq_max_; ++s) {
        const int32_t top = seq_pos_max(static_cast<int32_t>(s));
        if (top < 0) continue;
        const int32_t keep_from = top - window + 1;  // a query at top + 1 or later sees only these
        const uint64_t bit = uint64_t{1} << s;
        for (Cell &cell : cells_)
            if ((cell.seqs & bit) && cell.pos < keep_from) drop(cell, bit);
        floor[s] = std::max(floor[s], keep_from);
    }
}

void KvCache::seq_rm(int32_t seq, int32_t p0, int32_t p1) {
    check_seq(seq, true);
    if (p0 < 0) p0 = 0;
    if (p1 < 0) p1 = std::numeric_limits<int32_t>::max();
    const uint64_t seqs = seq < 0 ? ~uint64_t{0} : uint64_t{1} << seq;
    for (Cell &cell : cells_)
        if ((cell.seqs & seqs) && cell.pos >= p0 && cell.pos < p1) drop(cell, seqs);
}

void KvCache::seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    check_seq(src, false);
    check_seq(dst, false);
    if (src == dst) return;
    if (p0 < 0) p0 = 0;
    if (p1 < 0) p1 = std::numeric_limits<int32_t>::max();
    for (Cell &cell : cells_)
        if ((cell.seqs >> src & 1) && cell.pos >= p0 && cell.pos < p1) cell.seqs |= uint64_t{1} << dst;
}

void KvCache::seq_keep(int32_t seq) {
    check_seq(seq, false);
    for (Cell &cell : cells_) drop(cell, ~(uint64_t{1} << seq));
}

void KvCache::clear() {
    for (Cell &cell : cells_) cell = Cell{};
    n_used_ = 0;
}

int32_t KvCache::seq_pos_max(int32_t seq) const {
    check_seq(seq, false);
    int32_t p = -1;
    for (const Cell &cell : cells_)
        if (cell.seqs >> seq & 1) p = std::max(p, cell.pos);
    return p;
}

int32_t KvCache::seq_pos_min(int32_t seq) const {
    check_seq(seq, false);
    int32_t p = -1;
    for (const Cell &cell : cells_)
        if ((cell.seqs >> seq & 1) && (p < 0 || cell.pos < p)) p = cell.pos;
    return p;
}

uint32_t KvCache::seq_count(int32_t seq, int32_t p0, int32_t p1) const {
    check_seq(seq, false);
    uint32_t n = 0;
    for (const Cell &cell : cells_) n += (cell.seqs >> seq & 1) && cell.pos >= p0 && cell.pos < p1;
    return n;
}

// State layout (native endianness; a snapshot is for the same build and model):
//   u32 magic, u32 n_layer, u32 n_embd_kv, u32 types, u32 n_used,
//   n_used x { u32 cell, i32 pos, u64 seqs }, then for each layer the K rows then the V rows
//   of those cells, in the same order.
// `types` is the K type's id, plus (the V type's id + 1) << 16 when V differs (so a state of
// one type reads as it always has).
namespace {
constexpr uint32_t kStateMagic = 0x564b4d45;  // "EMKV"

uint32_t state_types(KvTypes t) {
    const auto k = static_cast<uint32_t>(t.k), v = static_cast<uint32_t>(t.v);
    return k == v ? k : k | (v + 1) << 16;
}

template <class T>
void put(std::vector<uint8_t> &out, const T &v) {
    const size_t at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
}
}  // namespace

void KvCache::write_state(std::vector<uint8_t> &out) const {
    put(out, kStateMagic);
    put(out, n_layer_);
    put(out, n_embd_kv_);
    put(out, state_types(types_));
    put(out, n_used_);
    std::vector<uint32_t> used;
    for (uint32_t c = 0; c < cells_.size(); ++c)
        if (!cells_[c].empty()) {
            used.push_back(c);
            put(out, c);
            put(out, cells_[c].pos);
            put(out, cells_[c].seqs);
        }
    for (bool values : {false, true})
        for (const LayerStorage &s : storage_)
            for (uint32_t c : used) {
                const size_t rb = row_bytes(n_embd_kv_, values ? types_.v : types_.k);
                const size_t at = out.size();
                out.resize(at + rb);
                s.backend->download(values ? *s.v : *s.k, c * rb, out.data() + at, rb, backend::Traffic::State);
            }
}

void KvCache::read_state(const uint8_t *data, size_t size) {
    size_t at = 0;
    auto get = [&](auto &v) {
        if (size - at < sizeof v) fail(EMBER_ERR_BAD_FORMAT, "KV cache state is truncated");
        std::memcpy(&v, data + at, sizeof v);
        at += sizeof v;
    };
    uint32_t magic = 0, n_layer = 0, n_embd_kv = 0, type = 0, n_used = 0;
    get(magic);
    get(n_layer);
    get(n_embd_kv);
    get(type);
    get(n_used);
    if (magic != kStateMagic) fail(EMBER_ERR_BAD_FORMAT, "not a KV cache state");
    if (n_layer != n_layer_ || n_embd_kv != n_embd_kv_ || type != state_types(types_))
        fail(EMBER_ERR_INVALID_ARGUMENT, "KV cache state was saved for a different model or cache type");
    if (n_used > cells_.size())
        fail(EMBER_ERR_CONTEXT_FULL, "KV cache state holds " + std::to_string(n_used) + " cells, this cache has " +
                                         std::to_string(cells_.size()));
    std::vector<Cell> cells(cells_.size());
    std::vector<uint32_t> used(n_used);
    for (uint32_t i = 0; i < n_used; ++i) {
        uint32_t c = 0;
        Cell cell;
        get(c);
        get(cell.pos);
        get(cell.seqs);
        if (c >= cells.size() || cell.empty() || !cells[c].empty() || (cell.seqs >> n_seq_max_) != 0)
            fail(EMBER_ERR_BAD_FORMAT, "KV cache state has an invalid cell");
        cells[c] = cell;
        used[i] = c;
    }
    const size_t rb_k = row_bytes(n_embd_kv_, types_.k), rb_v = row_bytes(n_embd_kv_, types_.v);
    if (size - at != static_cast<size_t>(n_layer_) * n_used * (rb_k + rb_v))
        fail(EMBER_ERR_BAD_FORMAT, "KV cache state has the wrong size");
    for (bool values : {false, true})
        for (const LayerStorage &s : storage_)
            for (uint32_t c : used) {
                const size_t rb = values ? rb_v : rb_k;
                s.backend->upload(values ? *s.v : *s.k, c * rb, data + at, rb, backend::Traffic::State);
                at += rb;
            }
    cells_ = std::move(cells);
    n_used_ = n_used;
}

}  // namespace ember::model
