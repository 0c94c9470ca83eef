#include "runtime/scheduler.h"

#include <cstring>

#include "core/error.h"

namespace ember {

using backend::Traffic;

size_t Scheduler::arena_bytes(int b) const {
    const auto &a = arenas_.at(static_cast<size_t>(b));
    return a ? a->size() : 0;
}

uint8_t *Scheduler::host_address(int b, size_t offset) const {
    return static_cast<uint8_t *>(arenas_[static_cast<size_t>(b)]->base()) + offset;
}

void Scheduler::copy_input(const Node &n, const GraphInputs &inputs) {
    const void *src = inputs.data[static_cast<int>(n.input)];
    if (!src && n.bytes()) fail(EMBER_ERR_INTERNAL, std::string("graph input '") + input_name(n.input) + "' is not bound");
    backend::Backend &b = *backends_[static_cast<size_t>(n.backend)];
    if (b.host_memory())
        std::memcpy(host_address(n.backend, n.offset), src, n.bytes());
    else
        b.upload(*arenas_[static_cast<size_t>(n.backend)], n.offset, src, n.bytes(), Traffic::Inputs);
}

void Scheduler::transfer(const Graph &graph, const Node &n) {
    const Node &s = graph.node(n.src[0]);
    backend::Backend &from = *backends_[static_cast<size_t>(s.backend)];
    backend::Backend &to = *backends_[static_cast<size_t>(n.backend)];
    const Buffer &src = *arenas_[static_cast<size_t>(s.backend)], &dst = *arenas_[static_cast<size_t>(n.backend)];
    if (to.host_memory()) {
        from.download(src, s.offset, host_address(n.backend, n.offset), n.bytes(), Traffic::Activations);
    } else if (from.host_memory()) {
        to.upload(dst, n.offset, host_address(s.backend, s.offset), n.bytes(), Traffic::Activations);
    } else {
        staging_.resize(n.bytes());
        from.download(src, s.offset, staging_.data(), n.bytes(), Traffic::Activations);
        to.upload(dst, n.offset, staging_.data(), n.bytes(), Traffic::Activations);
    }
}

bool Scheduler::run(const Graph &graph, const GraphInputs &inputs, const std::vector<backend::KvLayer> &kv,
                    int n_threads, const std::function<bool()> &should_abort) {
    for (size_t b = 0; b < backends_.size(); ++b) {
        const size_t need = graph.arena_bytes(static_cast<int>(b));
        if (need > 0 && (!arenas_[b] || arenas_[b]->size() < need)) {
            arenas_[b].reset();  // free the old arena before allocating the new one
            arenas_[b] = backends_[b]->allocate(need);
        }
    }
    backend::ComputeContext ctx;
    ctx.kv = &kv;
    ctx.n_threads = n_threads < 1 ? 1 : n_threads;
    const std::vector<Node> &nodes = graph.nodes();
    for (const LayerRange &range : graph.layers()) {
        if (should_abort && should_abort()) return false;
        backend::Backend &b = *backends_.at(static_cast<size_t>(range.backend));
        ctx.arena = arenas_[static_cast<size_t>(range.backend)] ? arenas_[static_cast<size_t>(range.backend)]->base() : nullptr;
        size_t i = range.first;
        while (i < range.last) {
            const Node &n = nodes[i];
            if (n.op == OpType::Input) {
                copy_input(n, inputs);
                ++i;
            } else if (n.op == OpType::Transfer) {
                transfer(graph, n);
                ++i;
            } else {  // a run of compute nodes goes to the backend in one call
                size_t j = i + 1;
                while (j < range.last && nodes[j].op != OpType::Input && nodes[j].op != OpType::Transfer) ++j;
                b.compute(graph, i, j, ctx);
                i = j;
            }
        }
    }
    return true;
}

void Scheduler::read_output(const Graph &graph, void *dst, size_t bytes) {
    const Node &out = graph.node(graph.output());
    if (bytes > out.bytes()) fail(EMBER_ERR_INTERNAL, "read_output: more bytes than the output holds");
    backend::Backend &b = *backends_[static_cast<size_t>(out.backend)];
    if (b.host_memory())
        std::memcpy(dst, host_address(out.backend, out.offset), bytes);
    else
        b.download(*arenas_[static_cast<size_t>(out.backend)], out.offset, dst, bytes, Traffic::Outputs);
}

}  // namespace ember
