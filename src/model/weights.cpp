#include "model/weights.h"

#include <string>

#include "backend/backend.h"
#include "core/error.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"
#include "model/architecture.h"

namespace ember::model {

namespace {

std::string shape_string(const int64_t *ne, int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

const char *use_name(TensorUse use) {
    switch (use) {
        case TensorUse::MatMul: return "matrix multiplication";
        case TensorUse::Rows: return "row lookup";
        case TensorUse::Vector: return "float vector";
    }
    return "?";
}

OpType op_of(TensorUse use) { return use == TensorUse::Rows ? OpType::GetRows : OpType::MatMul; }

// One tensor on its way to a slot: where it goes and the host bytes it starts from.
struct Pending {
    Tensor *slot;
    int backend;
    const void *host;  // the mapping, or a converted copy
    size_t bytes;
};

class Loader {
public:
    Loader(const gguf::ShardedModel &f, const Hparams &hp, const std::vector<backend::Backend *> &backends, Weights &w)
        : f_(f), file_(f.metadata().name()), hp_(hp), backends_(backends), w_(w) {}

    // Fills *slot with the tensor `name` as `def` describes it; false if absent and optional.
    bool load(const TensorDef &def, const std::string &name, int backend, Tensor *slot) {
        const gguf::TensorInfo *t = f_.find_tensor(name);
        const int64_t ne0 = def.ne0(hp_), ne1 = def.ne1 ? def.ne1(hp_) : 1, ne2 = def.ne2 ? def.ne2(hp_) : 1;
        const int64_t want[3] = {ne0, ne1, ne2};
        const int n_dims = def.ne2 ? 3 : def.ne1 ? 2 : 1;
        const std::string expected = shape_string(want, n_dims);
        if (!t) {
            if (def.required && def.fallback < 0)
                fail(EMBER_ERR_BAD_FORMAT, file_ + ": missing tensor '" + name + "' (" + expected + ", " + use_name(def.use) +
                                               "), which architecture " + hp_.arch_name + " requires");
            return false;
        }
        Tensor out = view(*t);
        const bool shape_ok = n_dims == 1 ? (out.ne[0] == ne0 && out.n_elements() == ne0)
                                          : (t->n_dims <= static_cast<uint32_t>(n_dims) && out.ne[0] == ne0 &&
                                             out.ne[1] == ne1 && out.ne[2] == ne2 && out.ne[3] == 1);
        if (!shape_ok)
            fail(EMBER_ERR_BAD_FORMAT, file_ + ": tensor '" + name + "' has shape " + shape_string(out.ne, 4) +
                                           ", expected " + expected);
        const void *host = t->data;
        size_t bytes = static_cast<size_t>(t->n_bytes);
        if (def.use == TensorUse::Vector) {
            if (t->type != TensorType::F32) {
                const cpu::TypeTraits *tt = cpu::type_traits(t->type);
                if (!tt || !tt->dequantize_row)
                    fail(EMBER_ERR_UNSUPPORTED, file_ + ": tensor '" + name + "' has type " + tensor_type_name(t->type));
                const int64_t n = out.n_elements();  // a vector, or a matrix of them (expert biases)
                auto values = std::make_unique<std::vector<float>>(static_cast<size_t>(n));
                tt->dequantize_row(t->data, values->data(), n);
                out.type = TensorType::F32;
                out.row_bytes = static_cast<size_t>(ne0) * sizeof(float);
                host = values->data();
                bytes = static_cast<size_t>(n) * sizeof(float);
                w_.converted.push_back(std::move(values));
            }
        } else {
            check_type(name, t->type, def.use, backend);
        }
        out.data = host;
        *slot = out;
        pending_.push_back({slot, backend, host, bytes});
        return true;
    }

    // A fallback slot's tensor used for `def` (tied output): same backend, shape and a type
    // this use can run.
    void alias(const TensorDef &def, const std::string &name, int backend, const Tensor &from, int from_backend,
               Tensor *slot) {
        if (from_backend != backend)
            fail(EMBER_ERR_INTERNAL, file_ + ": '" + name + "' falls back to a tensor on another backend");
        const int64_t ne0 = def.ne0(hp_), ne1 = def.ne1 ? def.ne1(hp_) : 1;
        if (from.ne[0] != ne0 || from.ne[1] != ne1)
            fail(EMBER_ERR_BAD_FORMAT, file_ + ": tensor '" + name + "' is absent and its stand-in '" + from.name +
                                           "' has shape " + shape_string(from.ne, 2));
        check_type(from.name, from.type, def.use, backend);
        *slot = from;
    }

    // Gives every pending tensor its final address on its backend, reporting each one.
    void place(int n_backends, const LoadProgress &progress) {
        uint64_t total = 0, placed = 0;
        for (const Pending &p : pending_) total += p.bytes;
        auto placed_one = [&](const Pending &p) {
            placed += p.bytes;
            if (progress && !progress(total ? static_cast<float>(static_cast<double>(placed) / static_cast<double>(total)) : 1.0f))
                fail(EMBER_ERR_ABORTED, file_ + ": loading was cancelled by the progress callback");
        };
        w_.bytes.assign(static_cast<size_t>(n_backends), 0);
        for (int b = 0; b < n_backends; ++b) {
            backend::Backend *be = backends_[static_cast<size_t>(b)];
            const bool in_place = be ? be->uses_host_weights() : b == kCpuBackend;
            if (in_place) {
                for (const Pending &p : pending_) {
                    if (p.backend != b) continue;
                    w_.bytes[static_cast<size_t>(b)] += p.bytes;
                    placed_one(p);
                }
                continue;
            }
            constexpr size_t kAlign = 64;
            std::vector<size_t> offsets;
            size_t size = 0;
            for (const Pending &p : pending_) {
                if (p.backend != b) continue;
                offsets.push_back(size);
                size += (p.bytes + kAlign - 1) / kAlign * kAlign;
            }
            w_.bytes[static_cast<size_t>(b)] = size;
            if (!be || size == 0) continue;  // planning only: the views stay on the file
            std::unique_ptr<Buffer> buf = be->allocate(size);
            Buffer &dst = *buf;
            w_.buffers.push_back(std::move(buf));  // owned before any upload can throw
            size_t i = 0;
            for (const Pending &p : pending_) {
                if (p.backend != b) continue;
                be->upload(dst, offsets[i], p.host, p.bytes, backend::Traffic::Weights);
                p.slot->data = static_cast<uint8_t *>(dst.base()) + offsets[i];
                p.slot->buffer = &dst;
                ++i;
                placed_one(p);
            }
        }
    }

private:
    void check_type(const std::string &name, TensorType type, TensorUse use, int backend) {
        backend::Backend *be = backends_[static_cast<size_t>(backend)];
        if (!be || be->supports(op_of(use), type)) return;
        fail(EMBER_ERR_UNSUPPORTED, file_ + ": tensor '" + name + "' has type " + tensor_type_name(type) + ", which the " +
                                        be->name() + " backend cannot use for " + use_name(use));
    }

    Tensor view(const gguf::TensorInfo &t) {
        Tensor out;
        out.name = std::string(t.name);
        out.type = t.type;
        for (uint32_t i = 0; i < gguf::kMaxDims; ++i) out.ne[i] = static_cast<int64_t>(t.ne[i]);
        out.row_bytes = static_cast<size_t>(t.row_bytes());
        out.data = t.data;
        return out;
    }

    const gguf::ShardedModel &f_;
    const std::string &file_;  // the (first) file, for errors
    const Hparams &hp_;
    const std::vector<backend::Backend *> &backends_;
    Weights &w_;
    std::vector<Pending> pending_;
};

}  // namespace

Weights load_weights(const gguf::ShardedModel &files, const Hparams &hp, const Placement &placement,
                     const std::vector<backend::Backend *> &backends, const LoadProgress &progress) {
    if (static_cast<int>(backends.size()) != placement.n_backends)
        fail(EMBER_ERR_INTERNAL, "load_weights: one backend per placement backend expected");
    const ArchDef &arch = *hp.arch;
    // Every layer has tensors: a block count beyond the file's tensor count is a hostile or
    // broken header, refused before anything is sized by it.
    if (hp.n_layer > files.tensors().size())
        fail(EMBER_ERR_BAD_FORMAT, files.metadata().name() + ": " + hp.arch_name + ".block_count " +
                                       std::to_string(hp.n_layer) + " exceeds the file's " +
                                       std::to_string(files.tensors().size()) + " tensors");
    Weights w;
    w.global.resize(static_cast<size_t>(arch.n_global_slots));
    w.layers.assign(hp.n_layer, std::vector<Tensor>(static_cast<size_t>(arch.n_layer_slots)));
    Loader ld(files, hp, backends, w);
    // Slots still empty after the first pass that name a fallback: (def, slot, backend).
    struct Fallback {
        const TensorDef *def;
        Tensor *slot;
        int backend;
    };
    std::vector<Fallback> fallbacks;
    std::vector<int> global_backend(static_cast<size_t>(arch.n_global_slots), kCpuBackend);  // where each global slot went
    struct Shared {
        const TensorDef *def = nullptr;
        Tensor copy[kMaxBackends];
        bool present[kMaxBackends] = {};
    };
    std::vector<Shared> shared;
    shared.reserve(arch.tensors.size());  // Pending keeps pointers into it

    for (const TensorDef &def : arch.tensors) {
        if (def.when && !def.when(hp)) continue;  // not part of this model (dense vs experts)
        switch (def.scope) {
            case TensorScope::Input:
            case TensorScope::Output: {
                const int b = placement.backend_of(def.scope == TensorScope::Input ? kInputStage : kOutputStage);
                Tensor *slot = &w.global.at(static_cast<size_t>(def.slot));
                global_backend.at(static_cast<size_t>(def.slot)) = b;
                if (!ld.load(def, def.name, b, slot) && def.fallback >= 0) fallbacks.push_back({&def, slot, b});
                break;
            }
            case TensorScope::Layer:
                for (uint32_t il = 0; il < hp.n_layer; ++il)
                    ld.load(def, "blk." + std::to_string(il) + "." + def.name, placement.layers[il],
                            &w.layers[il].at(static_cast<size_t>(def.slot)));
                break;
            case TensorScope::EveryLayer: {
                // One copy per backend that runs layers; each layer's slot gets its own below.
                Shared &sh = shared.emplace_back();
                sh.def = &def;
                bool tried[kMaxBackends] = {};
                for (uint32_t il = 0; il < hp.n_layer; ++il) {
                    const int b = placement.layers[il];
                    if (tried[b]) continue;
                    tried[b] = true;
                    sh.present[b] = ld.load(def, def.name, b, &sh.copy[b]);
                }
                break;
            }
        }
    }
    ld.place(placement.n_backends, progress);
    // Fused matrices: each part is a view of its rows, on the fused matrix's buffer.
    for (const TensorDef &def : arch.tensors) {
        if (def.split[0] < 0 || (def.when && !def.when(hp)) || def.scope != TensorScope::Layer) continue;
        for (uint32_t il = 0; il < hp.n_layer; ++il) {
            const Tensor &fused = w.layers[il].at(static_cast<size_t>(def.slot));
            if (!fused.present()) continue;
            int64_t row = 0;
            for (int i = 0; i < 3 && def.split[i] >= 0; ++i) {
                const int64_t n = def.split_rows[i](hp);
                if (row + n > fused.ne[1])
                    fail(EMBER_ERR_BAD_FORMAT, files.metadata().name() + ": tensor '" + fused.name + "' has " +
                                                   std::to_string(fused.ne[1]) + " rows, fewer than its parts need");
                Tensor part = fused;
                part.name = fused.name + "[rows " + std::to_string(row) + ".." + std::to_string(row + n) + ")";
                part.ne[1] = n;
                part.data = fused.row(row);
                w.layers[il].at(static_cast<size_t>(def.split[i])) = part;
                row += n;
            }
        }
    }
    for (const Shared &sh : shared)
        for (uint32_t il = 0; il < hp.n_layer; ++il)
            if (sh.present[placement.layers[il]])
                w.layers[il].at(static_cast<size_t>(sh.def->slot)) = sh.copy[placement.layers[il]];
    for (const Fallback &fb : fallbacks)
        ld.alias(*fb.def, fb.def->name, fb.backend, w[fb.def->fallback],
                 global_backend.at(static_cast<size_t>(fb.def->fallback)), fb.slot);
    return w;
}

}  // namespace ember::model
