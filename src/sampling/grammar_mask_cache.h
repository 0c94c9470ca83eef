// The grammar stage's whole-vocabulary masks of recently seen matcher states. A mask depends
// only on the state, and generation revisits states all the time (inside a string, after each
// character the parse stacks are the same again), so a refused token in a state seen before
// costs a lookup instead of a walk over the vocabulary. Least recently used entries go first;
// a copy starts empty (a cache, never shared between samplers).
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/grammar_matcher.h"

namespace ember::sampling {

class GrammarMaskCache {
public:
    explicit GrammarMaskCache(size_t capacity = 64) : capacity_(capacity) {}
    GrammarMaskCache(const GrammarMaskCache &o) : capacity_(o.capacity_) {}
    GrammarMaskCache &operator=(const GrammarMaskCache &o) {
        capacity_ = o.capacity_;
        entries_.clear();
        return *this;
    }

    // The cached mask of `state` (one bit per token), or nullptr.
    const std::vector<uint64_t> *find(const MatchState &state) {
        const uint64_t h = hash(state);
        for (Entry &e : entries_)
            if (e.hash == h && same(e.state, state)) {
                e.last_use = ++clock_;
                return &e.bits;
            }
        return nullptr;
    }

    // Stores `bits` as the mask of `state` (evicting the least recently used entry when full)
    // and returns the stored copy.
    const std::vector<uint64_t> &insert(const MatchState &state, const std::vector<uint64_t> &bits) {
        Entry *slot = nullptr;
        if (entries_.size() < capacity_) {
            slot = &entries_.emplace_back();
        } else {
            slot = &entries_.front();
            for (Entry &e : entries_)
                if (e.last_use < slot->last_use) slot = &e;
        }
        slot->hash = hash(state);
        slot->state = state;
        slot->bits = bits;
        slot->last_use = ++clock_;
        return slot->bits;
    }

private:
    struct Entry {
        uint64_t hash = 0, last_use = 0;
        MatchState state;
        std::vector<uint64_t> bits;
    };

    static bool same(const MatchState &a, const MatchState &b) {
        return a.partial_value == b.partial_value && a.partial_remaining == b.partial_remaining && a.stacks == b.stacks;
    }
    static uint64_t hash(const MatchState &s) {
        uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t{s.partial_value} << 8 | s.partial_remaining);
        auto mix = [&](uint32_t v) { h = (h ^ v) * 0x100000001b3ull; };
        for (uint32_t v : s.stacks.data) mix(v);
        for (uint32_t v : s.stacks.ends) mix(v);
        return h;
    }

    size_t capacity_;
    uint64_t clock_ = 0;
    std::vector<Entry> entries_;
};

}  // namespace ember::sampling
