// Open-addressing hash tables for the two lookups that dominate tokenization and loading:
// token text -> id and (left id, right id) -> merge. Flat arrays of small slots keep a lookup
// to one or two cache lines, where node-based std::unordered_map costs a pointer chase each.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace ember::tokenizer {

inline uint64_t mix64(uint64_t x) {
    // splitmix64's finalizer: every input bit affects every output bit.
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

inline size_t table_size_for(size_t n) {
    size_t size = 16;
    while (size < n + n / 2 + 1) size *= 2;  // load factor at most 2/3
    return size;
}

// Text -> id. The texts live elsewhere; `text_of(id)` returns the text of a stored id.
class TextIndex {
public:
    void reset(size_t n_expected) {
        slots_.assign(table_size_for(n_expected), Slot{0, -1});
        mask_ = slots_.size() - 1;
    }

    // Stores `id` for `text`; an id already stored for the same text is replaced.
    template <typename TextOf>
    void insert(std::string_view text, int32_t id, TextOf text_of) {
        const uint64_t h = hash(text);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            Slot &s = slots_[i];
            if (s.id < 0 || (s.tag == static_cast<uint32_t>(h >> 32) && text_of(s.id) == text)) {
                s = {static_cast<uint32_t>(h >> 32), id};
                return;
            }
        }
    }

    // The id stored for `text`, or -1.
    template <typename TextOf>
    int32_t find(std::string_view text, TextOf text_of) const {
        if (slots_.empty()) return -1;
        const uint64_t h = hash(text);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.id < 0) return -1;
            if (s.tag == static_cast<uint32_t>(h >> 32) && text_of(s.id) == text) return s.id;
        }
    }

private:
    struct Slot {
        uint32_t tag;  // high half of the hash, to skip most string compares
        int32_t id;    // -1: empty
    };
    static uint64_t hash(std::string_view text) { return mix64(std::hash<std::string_view>{}(text)); }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

// (left, right) token pair -> a 64-bit value; pairs are inserted once.
class PairIndex {
public:
    struct Value {
        int32_t a, b;
    };

    void reset(size_t n_expected) {
        slots_.assign(table_size_for(n_expected), Slot{kEmpty, {0, 0}});
        mask_ = slots_.size() - 1;
    }
    static uint64_t key(int32_t left, int32_t right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    }

    // Stores `value` unless the pair is already present (the first insertion wins).
    void insert(uint64_t k, Value value) {
        for (size_t i = mix64(k) & mask_;; i = (i + 1) & mask_) {
            Slot &s = slots_[i];
            if (s.key == k) return;
            if (s.key == kEmpty) {
                s = {k, value};
                return;
            }
        }
    }

    const Value *find(uint64_t k) const {
        if (slots_.empty()) return nullptr;
        for (size_t i = mix64(k) & mask_;; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.key == k) return &s.value;
            if (s.key == kEmpty) return nullptr;
        }
    }

private:
    // Token ids are non-negative, so a key with both halves all-ones never occurs.
    static constexpr uint64_t kEmpty = ~0ull;
    struct Slot {
        uint64_t key;
        Value value;
    };
    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

}  // namespace ember::tokenizer
