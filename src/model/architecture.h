// An architecture is one row of a registry (one module in arch/<id>.cpp): its GGUF name, its
// hyper-parameter keys with their defaults, its tensors (name, shape from the hyper-parameters,
// required or optional) and the function that builds its forward pass as a graph. The loader,
// the session and the memory estimate work from the row alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.h"
#include "model/hparams.h"

namespace ember::gguf {
class File;
}

namespace ember::model {

struct Weights;

// A hyper-parameter key under "<arch>.", the field it fills and what happens when it is
// absent: an error (Required; a u32 must also be > 0), a constant, another field's value or a
// value derived from the fields read before it.
struct HparamKey {
    enum class Default { Required, Constant, Field, Derived };
    const char *key;
    uint32_t Hparams::*u32 = nullptr;
    float Hparams::*f32 = nullptr;
    Default when_absent = Default::Required;
    double constant = 0.0;
    uint32_t Hparams::*field = nullptr;
    uint32_t (*derive)(const Hparams &) = nullptr;
};
HparamKey required(const char *key, uint32_t Hparams::*field);
HparamKey required(const char *key, float Hparams::*field);
HparamKey or_constant(const char *key, float Hparams::*field, double value);
HparamKey or_constant(const char *key, uint32_t Hparams::*field, uint32_t value);
HparamKey or_field(const char *key, uint32_t Hparams::*field, uint32_t Hparams::*from);
HparamKey or_derived(const char *key, uint32_t Hparams::*field, uint32_t (*derive)(const Hparams &));

// How a tensor is used, which decides the types it may have: a matrix multiplied with
// activations (MatMul), a table whose rows are looked up (Rows), or a float vector (Vector:
// norm weights, biases, rope factors; converted to F32 at load if stored otherwise).
enum class TensorUse { MatMul, Rows, Vector };
// Which stage reads it, which decides its backend: the input or output stage, one layer
// ("blk.N." before the name), or every layer (one tensor, a copy on each backend with layers).
enum class TensorScope { Input, Output, Layer, EveryLayer };

using DimFn = int64_t (*)(const Hparams &);

struct TensorDef {
    int slot;                 // index into Weights::global (Input/Output) or each layer's list
    const char *name;         // "token_embd.weight", "attn_q.weight", ...
    TensorScope scope;
    TensorUse use;
    DimFn ne0;                // values per row
    DimFn ne1 = nullptr;      // rows; nullptr for a vector
    bool required = true;
    int fallback = -1;        // a global slot used when this one is absent (tied output)
    DimFn ne2 = nullptr;      // matrices (experts); nullptr for a vector or a matrix
    // Whether the model has this tensor at all (e.g. a dense FFN or experts); nullptr: always.
    bool (*when)(const Hparams &) = nullptr;
    // A fused matrix whose consecutive row ranges are other slots' matrices (phi3's attn_qkv
    // is q, k, v): slot split[i] gets a view of the next split_rows[i] rows.
    int split[3] = {-1, -1, -1};
    DimFn split_rows[3] = {nullptr, nullptr, nullptr};
};

// What one micro-batch asks of the graph.
struct BuildInput {
    int64_t n_tokens = 0;
    int64_t n_outputs = 0;    // rows that go through the output head (<= n_tokens)
    int64_t n_kv = 0;         // cells attended over (the mask's width)
    bool embeddings = false;  // stop at the final norm: [n_outputs][n_embd]
    bool sliding_window = false;  // the model has local layers: bind MaskSwa and KvCellsSwa too
    int64_t n_kv_swa = 0;         // cells of the local layers' cache attended over
    int64_t n_ctx_per_seq = 0;    // the session's context per sequence (LongRoPE picks its factors by it)
};

// Builds one micro-batch's forward pass; returns the result node ([n_outputs][n_vocab]
// logits, or [n_outputs][n_embd] embeddings).
using BuildFn = NodeId (*)(Graph &g, const Hparams &hp, const Weights &w, const BuildInput &in);

struct ArchDef {
    const char *name;                    // general.architecture
    RopeKind rope_kind;
    std::vector<HparamKey> hparams;
    int n_global_slots, n_layer_slots;
    std::vector<TensorDef> tensors;
    BuildFn build;
    // Rules beyond the key table (defaults that depend on other keys, layer patterns); runs
    // after the keys are read. nullptr: none.
    void (*adjust)(const gguf::File &f, const std::string &prefix, Hparams &hp) = nullptr;
};

// The registered architecture named `name`, or nullptr.
const ArchDef *find_architecture(const std::string &name);
// "llama, qwen2": every registered name, for messages.
std::string architecture_names();

}  // namespace ember::model
