#include "convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"

namespace ember::convert {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Far above any real header (a 1000-shard, 100k-tensor index is a few MiB) and small enough that
// a hostile length cannot make us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
// nlohmann's parser recurses per nesting level; real headers nest 3 deep.
constexpr int kMaxJsonDepth = 64;

[[noreturn]] void bad(const std::string &file, const std::string &what) {
    fail(EMBER_ERR_BAD_FORMAT, file + ": " + what);
}

// Bytes per element of the dtypes safetensors defines; 0 for unknown ones.
uint32_t dtype_size(const std::string &d) {
    if (d == "F64" || d == "I64" || d == "U64") return 8;
    if (d == "F32" || d == "I32" || d == "U32") return 4;
    if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
    if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
    return 0;
}

bool nesting_within(const char *p, size_t n, int limit) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; ++i) {
        const char c = p[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return false;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return true;
}

uint64_t read_u64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

json read_json_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(EMBER_ERR_NOT_FOUND, path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    if (!nesting_within(text.data(), text.size(), kMaxJsonDepth)) bad(path, "JSON nested too deeply");
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) bad(path, "not valid JSON");
    return j;
}

}  // namespace

uint64_t StTensor::n_elements() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;  // checked against n_bytes when parsed
    return n;
}

uint32_t StTensor::element_size() const {
    switch (dtype) {
        case StDtype::F32: return 4;
        case StDtype::F16: case StDtype::BF16: return 2;
        default: return 0;
    }
}

float StTensor::get(uint64_t i) const {
    switch (dtype) {
        case StDtype::F32: {
            float f;
            std::memcpy(&f, data + 4 * i, 4);
            return f;
        }
        case StDtype::F16: {
            uint16_t h;
            std::memcpy(&h, data + 2 * i, 2);
            return fp16_to_fp32(h);
        }
        case StDtype::BF16: {
            uint16_t h;
            std::memcpy(&h, data + 2 * i, 2);
            return bf16_to_fp32(h);
        }
        default: fail(EMBER_ERR_UNSUPPORTED, name + ": dtype " + dtype_name + " cannot be converted");
    }
}

const StTensor *SafetensorsModel::find(const std::string &name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

void SafetensorsModel::add_buffer(const uint8_t *data, size_t size, const std::string &file) {
    // Layout: u64 header length N (little-endian), N bytes of JSON, then the data section that
    // every data_offsets pair indexes.
    if (size < 8) bad(file, "too short for a safetensors header (" + std::to_string(size) + " bytes)");
    const uint64_t header_len = read_u64_le(data);
    if (header_len > size - 8) {
        bad(file, "header length " + std::to_string(header_len) + " exceeds the file (" + std::to_string(size) + " bytes)");
    }
    if (header_len > kMaxHeaderBytes) bad(file, "header length " + std::to_string(header_len) + " is implausibly large");
    const char *text = reinterpret_cast<const char *>(data + 8);
    if (!nesting_within(text, header_len, kMaxJsonDepth)) bad(file, "header JSON nested too deeply");
    const json header = json::parse(text, text + header_len, nullptr, false);
    if (header.is_discarded() || !header.is_object()) bad(file, "header is not a JSON object");

    const uint8_t *data_section = data + 8 + header_len;
    const uint64_t data_size = size - 8 - header_len;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string &name = it.key();
        if (name == "__metadata__") continue;
        const json &e = it.value();
        const std::string where = "tensor '" + name + "'";
        if (!e.is_object()) bad(file, where + " is not an object");
        const auto dt = e.find("dtype");
        const auto sh = e.find("shape");
        const auto off = e.find("data_offsets");
        if (dt == e.end() || !dt->is_string()) bad(file, where + " has no dtype");
        if (sh == e.end() || !sh->is_array() || sh->size() > 8) bad(file, where + " has no valid shape");
        if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned()) {
            bad(file, where + " has no valid data_offsets");
        }
        StTensor t;
        t.name = name;
        t.file = file;
        t.dtype_name = dt->get<std::string>();
        t.dtype = t.dtype_name == "F32" ? StDtype::F32 : t.dtype_name == "F16" ? StDtype::F16
                : t.dtype_name == "BF16" ? StDtype::BF16 : StDtype::Other;
        uint64_t n_elements = 1;
        for (const json &d : *sh) {
            if (!d.is_number_unsigned()) bad(file, where + ": shape entries must be non-negative integers");
            const uint64_t v = d.get<uint64_t>();
            if (v != 0 && n_elements > UINT64_MAX / v) bad(file, where + ": shape overflows");
            n_elements *= v;
            t.shape.push_back(v);
        }
        const uint64_t begin = (*off)[0].get<uint64_t>();
        const uint64_t end = (*off)[1].get<uint64_t>();
        if (begin > end || end > data_size) {
            bad(file, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                          ") outside the data section (" + std::to_string(data_size) + " bytes)");
        }
        const uint32_t esize = dtype_size(t.dtype_name);
        if (esize && (n_elements > UINT64_MAX / esize || n_elements * esize != end - begin)) {
            bad(file, where + ": " + std::to_string(end - begin) + " bytes do not hold its shape of " + t.dtype_name);
        }
        t.data = data_section + begin;
        t.n_bytes = end - begin;
        if (!tensors_.emplace(name, std::move(t)).second) bad(file, where + " appears in more than one shard");
    }
}

void SafetensorsModel::add_file(const std::string &path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail(EMBER_ERR_NOT_FOUND, path + ": no such file");
    if (fs::file_size(path, ec) == 0) bad(path, "empty file");
    files_.push_back(std::make_unique<MappedFile>(path));
    add_buffer(files_.back()->data(), files_.back()->size(), path);
}

std::unique_ptr<SafetensorsModel> SafetensorsModel::open_dir(const std::string &dir) {
    auto model = std::make_unique<SafetensorsModel>();
    const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
    std::error_code ec;
    if (fs::exists(index_path, ec)) {
        const json index = read_json_file(index_path.string());
        const auto map = index.find("weight_map");
        if (map == index.end() || !map->is_object()) bad(index_path.string(), "no weight_map object");
        std::set<std::string> shards;
        for (auto it = map->begin(); it != map->end(); ++it) {
            if (!it->is_string()) bad(index_path.string(), "weight_map entry '" + it.key() + "' is not a file name");
            const std::string shard = it->get<std::string>();
            // Shards live beside the index; a path elsewhere is refused rather than followed.
            if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
                shard == "." || shard == "..") {
                bad(index_path.string(), "shard name '" + shard + "' is not a plain file name");
            }
            shards.insert(shard);
        }
        for (const std::string &shard : shards) model->add_file((fs::path(dir) / shard).string());
        for (auto it = map->begin(); it != map->end(); ++it) {
            if (!model->find(it.key())) {
                bad(index_path.string(), "tensor '" + it.key() + "' is not in " + it->get<std::string>());
            }
        }
        return model;
    }
    std::vector<std::string> files;
    for (const auto &entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
    }
    if (ec) fail(EMBER_ERR_NOT_FOUND, dir + ": cannot list the directory (" + ec.message() + ")");
    if (files.empty()) fail(EMBER_ERR_NOT_FOUND, dir + ": no model.safetensors (or *.safetensors / model.safetensors.index.json)");
    std::sort(files.begin(), files.end());
    for (const std::string &f : files) model->add_file(f);
    return model;
}

}  // namespace ember::convert
