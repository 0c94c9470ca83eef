// Hugging Face safetensors checkpoints, read in place from read-only mappings: one file, or the
// shards named by model.safetensors.index.json. The header is untrusted: its length, every
// dtype, shape and byte range are checked against the file before any tensor is exposed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace ember::convert {

enum class StDtype { F32, F16, BF16, Other };

struct StTensor {
    std::string name;
    StDtype dtype = StDtype::Other;
    std::string dtype_name;        // as written in the header ("F32", "I64", ...)
    std::vector<uint64_t> shape;   // PyTorch order: shape.back() is the contiguous dimension
    const uint8_t *data = nullptr; // into the mapping; not necessarily aligned
    uint64_t n_bytes = 0;
    std::string file;              // the shard it lives in, for messages

    uint64_t n_elements() const;
    uint32_t element_size() const;  // 4, 2, 2; 0 for Other
    // Element i (row-major) as float; only for F32/F16/BF16.
    float get(uint64_t i) const;
};

class SafetensorsModel {
public:
    // Opens DIR/model.safetensors.index.json when present (every shard it names), else every
    // DIR/*.safetensors. Throws ember::Error: EMBER_ERR_NOT_FOUND naming the missing file,
    // EMBER_ERR_BAD_FORMAT naming the file and the flaw.
    static std::unique_ptr<SafetensorsModel> open_dir(const std::string &dir);
    // Parses one file's tensors into this model (names must be unique across shards).
    void add_file(const std::string &path);
    // Parses a caller's buffer (tests and fuzzing); `name` appears in errors.
    void add_buffer(const uint8_t *data, size_t size, const std::string &name);

    const std::map<std::string, StTensor> &tensors() const { return tensors_; }
    const StTensor *find(const std::string &name) const;

private:
    std::vector<std::unique_ptr<MappedFile>> files_;
    std::map<std::string, StTensor> tensors_;
};

}  // namespace ember::convert
