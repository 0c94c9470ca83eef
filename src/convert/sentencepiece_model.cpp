#include "convert/sentencepiece_model.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace ember::convert {

namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

// One message's bytes [pos, end); nested messages get their own reader over their slice.
class WireReader {
public:
    WireReader(const uint8_t *data, size_t size, const std::string &name, size_t base = 0)
        : p_(data), size_(size), name_(name), base_(base) {}

    bool done() const { return pos_ >= size_; }

    // Reads the next tag; false at the end of the message.
    bool next(uint32_t *field, uint32_t *wire_type) {
        if (done()) return false;
        const uint64_t tag = varint();
        *field = static_cast<uint32_t>(tag >> 3);
        *wire_type = static_cast<uint32_t>(tag & 7);
        if (*field == 0) error("field number 0");
        return true;
    }

    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= size_) error("truncated varint");
            const uint8_t b = p_[pos_++];
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        error("varint longer than 10 bytes");
    }

    float fixed32_float() {
        if (size_ - pos_ < 4) error("truncated fixed32");
        uint32_t bits = static_cast<uint32_t>(p_[pos_]) | static_cast<uint32_t>(p_[pos_ + 1]) << 8 |
                        static_cast<uint32_t>(p_[pos_ + 2]) << 16 | static_cast<uint32_t>(p_[pos_ + 3]) << 24;
        pos_ += 4;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }

    // A length-delimited field's bytes as a reader over that slice.
    WireReader sub() {
        const uint64_t len = varint();
        if (len > size_ - pos_) error("length " + std::to_string(len) + " runs past the message");
        WireReader r(p_ + pos_, static_cast<size_t>(len), name_, base_ + pos_);
        pos_ += static_cast<size_t>(len);
        return r;
    }

    std::string bytes() {
        WireReader r = sub();
        return std::string(reinterpret_cast<const char *>(r.p_), r.size_);
    }

    void skip(uint32_t wire_type) {
        switch (wire_type) {
            case kVarint: varint(); break;
            case kFixed64: advance(8); break;
            case kLengthDelimited: sub(); break;
            case kFixed32: advance(4); break;
            default: error("unsupported wire type " + std::to_string(wire_type));
        }
    }

    void expect(uint32_t wire_type, uint32_t want, const char *field) {
        if (wire_type != want) error(std::string("field '") + field + "' has wire type " + std::to_string(wire_type));
    }

    [[noreturn]] void error(const std::string &what) const {
        fail(EMBER_ERR_BAD_FORMAT, name_ + ": malformed SentencePiece model at byte " + std::to_string(base_ + pos_) + ": " + what);
    }

private:
    void advance(size_t n) {
        if (size_ - pos_ < n) error("truncated field");
        pos_ += n;
    }

    const uint8_t *p_;
    size_t size_;
    size_t pos_ = 0;
    const std::string &name_;
    size_t base_;
};

// ModelProto.pieces (field 1): SentencePiece { piece = 1; score = 2; type = 3; }
SpmPiece parse_piece(WireReader r) {
    SpmPiece piece;
    uint32_t field, wt;
    while (r.next(&field, &wt)) {
        if (field == 1) { r.expect(wt, kLengthDelimited, "piece"); piece.piece = r.bytes(); }
        else if (field == 2) { r.expect(wt, kFixed32, "score"); piece.score = r.fixed32_float(); }
        else if (field == 3) { r.expect(wt, kVarint, "type"); piece.type = static_cast<int32_t>(r.varint()); }
        else r.skip(wt);
    }
    if (piece.type < 1 || piece.type > 6) r.error("piece '" + piece.piece + "' has unknown type " + std::to_string(piece.type));
    return piece;
}

// ModelProto.trainer_spec (field 2): model_type = 3, byte_fallback = 35, unk/bos/eos/pad ids 40-43.
void parse_trainer_spec(WireReader r, SpmModel &m) {
    uint32_t field, wt;
    while (r.next(&field, &wt)) {
        if (wt != kVarint) { r.skip(wt); continue; }
        const uint64_t v = r.varint();
        const auto as_id = static_cast<int32_t>(static_cast<uint32_t>(v));  // int32 fields: -1 is 2^64-1
        switch (field) {
            case 3: m.model_type = static_cast<int32_t>(v); break;
            case 35: m.byte_fallback = v != 0; break;
            case 40: m.unk_id = as_id; break;
            case 41: m.bos_id = as_id; break;
            case 42: m.eos_id = as_id; break;
            case 43: m.pad_id = as_id; break;
            default: break;
        }
    }
}

// ModelProto.normalizer_spec (field 3): add_dummy_prefix = 3, remove_extra_whitespaces = 4.
void parse_normalizer_spec(WireReader r, SpmModel &m) {
    uint32_t field, wt;
    while (r.next(&field, &wt)) {
        if (wt != kVarint) { r.skip(wt); continue; }
        const uint64_t v = r.varint();
        if (field == 3) m.add_dummy_prefix = v != 0;
        else if (field == 4) m.remove_extra_whitespaces = v != 0;
    }
}

}  // namespace

SpmModel parse_sentencepiece_model(const uint8_t *data, size_t size, const std::string &name) {
    SpmModel m;
    WireReader r(data, size, name);
    uint32_t field, wt;
    while (r.next(&field, &wt)) {
        if (field == 1) { r.expect(wt, kLengthDelimited, "pieces"); m.pieces.push_back(parse_piece(r.sub())); }
        else if (field == 2) { r.expect(wt, kLengthDelimited, "trainer_spec"); parse_trainer_spec(r.sub(), m); }
        else if (field == 3) { r.expect(wt, kLengthDelimited, "normalizer_spec"); parse_normalizer_spec(r.sub(), m); }
        else r.skip(wt);
    }
    if (m.pieces.empty()) fail(EMBER_ERR_BAD_FORMAT, name + ": SentencePiece model has no pieces");
    return m;
}

SpmModel load_sentencepiece_model(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(EMBER_ERR_NOT_FOUND, path + ": cannot open");
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_sentencepiece_model(bytes.data(), bytes.size(), path);
}

}  // namespace ember::convert
