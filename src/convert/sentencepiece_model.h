// The parts of a SentencePiece tokenizer.model (a protobuf ModelProto) a GGUF vocabulary needs,
// read with a small bounds-checked protobuf wire-format reader (no protobuf dependency).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember::convert {

struct SpmPiece {
    std::string piece;
    float score = 0.0f;
    int32_t type = 1;  // NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6 (as GGUF's)
};

struct SpmModel {
    std::vector<SpmPiece> pieces;          // id order
    int32_t model_type = 1;                // trainer_spec.model_type: UNIGRAM=1 BPE=2 WORD=3 CHAR=4
    bool byte_fallback = false;            // trainer_spec.byte_fallback
    int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // trainer_spec defaults
    bool add_dummy_prefix = true;          // normalizer_spec.add_dummy_prefix
    bool remove_extra_whitespaces = true;  // normalizer_spec.remove_extra_whitespaces
};

// Parses ModelProto bytes; throws ember::Error (EMBER_ERR_BAD_FORMAT) naming `name` and the
// offset of the first malformed field.
SpmModel parse_sentencepiece_model(const uint8_t *data, size_t size, const std::string &name);
SpmModel load_sentencepiece_model(const std::string &path);

}  // namespace ember::convert
