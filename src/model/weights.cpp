#include "model/weights.h"

#include <string>

#include "core/error.h"
#include "core/half.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"

namespace ember::model {

namespace {

std::string shape_string(const int64_t *ne, int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

class Loader {
public:
    Loader(const gguf::ShardedModel &f, Weights &w) : f_(f), name_(f.metadata().name()), w_(w) {}

    // A 2-D weight of `cols` values per row and `rows` rows, in any type with kernels.
    Tensor matrix(const std::string &name, int64_t cols, int64_t rows) {
        const gguf::TensorInfo &t = f_.tensor(name);
        Tensor out = view(t);
        if (t.n_dims > 2 || out.ne[0] != cols || out.ne[1] != rows) {
            const int64_t want[2] = {cols, rows};
            fail(EMBER_ERR_BAD_FORMAT, name_ + ": tensor '" + name + "' has shape " + shape_string(out.ne, 4) +
                                           ", expected " + shape_string(want, 2));
        }
        if (!cpu::type_traits(t.type))
            fail(EMBER_ERR_UNSUPPORTED, name_ + ": tensor '" + name + "' has type " + tensor_type_name(t.type) +
                                            ", which has no CPU kernels");
        return out;
    }

    // A 1-D float vector of n values; converted to F32 if stored otherwise.
    Tensor vector(const std::string &name, int64_t n, bool required = true) {
        const gguf::TensorInfo *t = f_.find_tensor(name);
        if (!t) {
            if (required) f_.tensor(name);  // throws the standard not-found error
            return Tensor{};
        }
        Tensor out = view(*t);
        if (out.n_elements() != n || out.ne[0] != n)
            fail(EMBER_ERR_BAD_FORMAT, name_ + ": tensor '" + name + "' has shape " + shape_string(out.ne, 4) +
                                           ", expected [" + std::to_string(n) + "]");
        if (t->type == TensorType::F32) return out;
        const cpu::TypeTraits *tt = cpu::type_traits(t->type);
        if (!tt || !tt->dequantize_row)
            fail(EMBER_ERR_UNSUPPORTED, name_ + ": tensor '" + name + "' has type " + tensor_type_name(t->type));
        auto values = std::make_unique<std::vector<float>>(static_cast<size_t>(n));
        tt->dequantize_row(t->data, values->data(), n);
        out.type = TensorType::F32;
        out.row_bytes = static_cast<size_t>(n) * sizeof(float);
        out.data = values->data();
        w_.converted.push_back(std::move(values));
        return out;
    }

private:
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
    const std::string &name_;  // the (first) file, for errors
    Weights &w_;
};

}  // namespace

Weights load_weights(const gguf::ShardedModel &file, const Hparams &hp) {
    Weights w;
    Loader ld(file, w);
    const int64_t n_embd = hp.n_embd, n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv(), n_ff = hp.n_ff;

    w.token_embd = ld.matrix("token_embd.weight", n_embd, hp.n_vocab);
    w.output_norm = ld.vector("output_norm.weight", n_embd);
    if (file.find_tensor("output.weight")) {
        w.output = ld.matrix("output.weight", n_embd, hp.n_vocab);
    } else {
        w.output = w.token_embd;  // tied embeddings: the output head reuses the input table
        w.tied_output = true;
    }
    if (file.find_tensor("rope_freqs.weight")) w.rope_freqs = ld.vector("rope_freqs.weight", hp.n_rot / 2);

    const bool biases = hp.arch == Arch::Qwen2;
    w.layers.resize(hp.n_layer);
    for (uint32_t il = 0; il < hp.n_layer; ++il) {
        LayerWeights &l = w.layers[il];
        const std::string p = "blk." + std::to_string(il) + ".";
        l.attn_norm = ld.vector(p + "attn_norm.weight", n_embd);
        l.wq = ld.matrix(p + "attn_q.weight", n_embd, n_q);
        l.wk = ld.matrix(p + "attn_k.weight", n_embd, n_kv);
        l.wv = ld.matrix(p + "attn_v.weight", n_embd, n_kv);
        l.bq = ld.vector(p + "attn_q.bias", n_q, biases);
        l.bk = ld.vector(p + "attn_k.bias", n_kv, biases);
        l.bv = ld.vector(p + "attn_v.bias", n_kv, biases);
        l.wo = ld.matrix(p + "attn_output.weight", n_q, n_embd);
        l.ffn_norm = ld.vector(p + "ffn_norm.weight", n_embd);
        l.ffn_gate = ld.matrix(p + "ffn_gate.weight", n_embd, n_ff);
        l.ffn_up = ld.matrix(p + "ffn_up.weight", n_embd, n_ff);
        l.ffn_down = ld.matrix(p + "ffn_down.weight", n_ff, n_embd);
    }
    return w;
}

}  // namespace ember::model
