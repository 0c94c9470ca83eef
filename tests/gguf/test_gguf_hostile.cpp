// Hostile and damaged GGUF input: every failure is an ember::Error with a clear message,
// never a crash, an out-of-bounds read, a huge allocation or a hang.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

// Builds GGUF bytes field by field, so a test can write what no honest writer would.
struct Bytes {
    std::vector<uint8_t> b;
    template <typename T>
    Bytes &put(T v) {
        const size_t at = b.size();
        b.resize(at + sizeof v);
        std::memcpy(b.data() + at, &v, sizeof v);
        return *this;
    }
    Bytes &str(const std::string &s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes &header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
        b.insert(b.end(), {'G', 'G', 'U', 'F'});
        return put(version).put(n_tensors).put(n_kv);
    }
    Bytes &pad_to(size_t align) {
        b.resize((b.size() + align - 1) / align * align, 0);
        return *this;
    }
};

std::string parse_error(const std::vector<uint8_t> &bytes) {
    try {
        gguf::File::from_buffer(bytes.data(), bytes.size(), "crafted");
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

// One F32 tensor "t" of shape [4] with the given type/dims/offset, after one u32 key.
std::vector<uint8_t> one_tensor_file(uint32_t type, uint64_t ne0, uint64_t offset, size_t data_bytes = 64) {
    Bytes f;
    f.header(3, 1, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(32);
    f.str("t").put<uint32_t>(1).put<uint64_t>(ne0).put<uint32_t>(type).put<uint64_t>(offset);
    f.pad_to(32);
    f.b.resize(f.b.size() + data_bytes, 0);
    return f.b;
}

}  // namespace

TEST_CASE("truncation anywhere in the header, tensor infos or data is an error") {
    const auto bytes = test::read_file_bytes(test::shared_path("models/stories260K.gguf"));
    auto whole = gguf::File::from_buffer(bytes.data(), bytes.size());
    uint64_t data_end = 0;
    for (const auto &t : whole->tensors()) data_end = std::max(data_end, whole->data_offset() + t.offset + t.n_bytes);
    REQUIRE(whole->data_offset() > 10000);  // about 14 KB of header and tensor infos

    // Every byte of the header and tensor-info region.
    for (size_t cut = 0; cut < whole->data_offset(); ++cut) {
        const std::string err = parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut));
        INFO("cut at " << cut);
        REQUIRE_FALSE(err.empty());
    }
    // A spread of cuts inside the data section.
    for (uint64_t cut = whole->data_offset(); cut < data_end; cut += 997) {
        const std::string err = parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut));
        INFO("cut at " << cut);
        REQUIRE_THAT(err, Catch::Contains("outside the data section") || Catch::Contains("truncated"));
    }
    CHECK(parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + data_end - 1)) != "");
}

TEST_CASE("flipped header bytes give an error or a valid parse, never a crash") {
    const auto bytes = test::read_file_bytes(test::shared_path("models/stories260K.gguf"));
    auto whole = gguf::File::from_buffer(bytes.data(), bytes.size());
    size_t errors = 0;
    std::vector<uint8_t> copy = bytes;
    for (size_t i = 0; i < whole->data_offset(); i += 3) {
        for (uint8_t mask : {0xFF, 0x80, 0x01}) {
            copy[i] ^= mask;
            try {
                auto f = gguf::File::from_buffer(copy.data(), copy.size());
                for (const auto &t : f->tensors()) CHECK(t.data + t.n_bytes <= copy.data() + copy.size());
            } catch (const Error &) {
                ++errors;
            }
            copy[i] ^= mask;
        }
    }
    CHECK(errors > 100);
}

TEST_CASE("versions and byte order") {
    CHECK_THAT(parse_error(Bytes().header(1, 0, 0).b), Catch::Contains("version 1 is not supported"));
    CHECK_THAT(parse_error(Bytes().header(4, 0, 0).b), Catch::Contains("unsupported GGUF version 4"));
    CHECK_THAT(parse_error(Bytes().header(0x03000000, 0, 0).b), Catch::Contains("big-endian GGUF is not supported"));
    CHECK_THAT(parse_error({'G', 'G', 'M', 'L', 0, 0, 0, 0}), Catch::Contains("bad magic"));
    CHECK_THAT(parse_error({}), Catch::Contains("truncated"));
    CHECK(parse_error(Bytes().header(2, 0, 0).b).empty());
    CHECK(parse_error(Bytes().header(3, 0, 0).b).empty());
}

TEST_CASE("huge counts and lengths are rejected before any allocation") {
    CHECK_THAT(parse_error(Bytes().header(3, 0, UINT64_MAX).b), Catch::Contains("does not fit"));
    CHECK_THAT(parse_error(Bytes().header(3, UINT64_MAX / 2, 0).b), Catch::Contains("does not fit"));
    // A key whose length runs past the end.
    Bytes long_key;
    long_key.header(3, 0, 1).put<uint64_t>(UINT64_MAX).b.resize(64, 0);
    CHECK_THAT(parse_error(long_key.b), Catch::Contains("truncated"));
    // A string array claiming 2^60 elements.
    Bytes arr;
    arr.header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 60);
    CHECK_THAT(parse_error(arr.b), Catch::Contains("does not fit"));
    // A u64 array whose byte size overflows.
    Bytes arr2;
    arr2.header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(10).put<uint64_t>(UINT64_MAX / 4);
    CHECK_THAT(parse_error(arr2.b), Catch::Contains("does not fit"));
}

TEST_CASE("metadata value types are validated") {
    CHECK_THAT(parse_error(Bytes().header(3, 0, 1).str("k").put<uint32_t>(13).b), Catch::Contains("unknown metadata value type 13"));
    CHECK_THAT(parse_error(Bytes().header(3, 0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).b), Catch::Contains("bool"));
    Bytes dup;
    dup.header(3, 0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(2);
    CHECK_THAT(parse_error(dup.b), Catch::Contains("duplicate metadata key 'k'"));
    // Arrays nested beyond the limit.
    Bytes deep;
    deep.header(3, 0, 1).str("k").put<uint32_t>(9);
    for (int i = 0; i < 20; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
    CHECK_THAT(parse_error(deep.b), Catch::Contains("nested"));
}

TEST_CASE("alignment must be a power of two") {
    CHECK_THAT(parse_error(Bytes().header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24).b),
               Catch::Contains("power of two"));
    CHECK_THAT(parse_error(Bytes().header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(0).b),
               Catch::Contains("power of two"));
    CHECK_THAT(parse_error(Bytes().header(3, 0, 1).str("general.alignment").put<uint32_t>(8).str("x").b),
               Catch::Contains("power of two"));
}

TEST_CASE("tensor infos are validated") {
    CHECK(parse_error(one_tensor_file(0, 4, 0)).empty());
    CHECK_THAT(parse_error(one_tensor_file(4, 4, 0)), Catch::Contains("unknown type id 4"));
    CHECK_THAT(parse_error(one_tensor_file(1000, 4, 0)), Catch::Contains("unknown type id 1000"));
    CHECK_THAT(parse_error(one_tensor_file(2 /*Q4_0*/, 33, 0)), Catch::Contains("not a multiple of the block size 32"));
    CHECK_THAT(parse_error(one_tensor_file(0, 4, 16)), Catch::Contains("not a multiple of the alignment"));
    CHECK_THAT(parse_error(one_tensor_file(0, 4, 64)), Catch::Contains("outside the data section"));
    CHECK_THAT(parse_error(one_tensor_file(0, 1ull << 62, 0)), Catch::Contains("too large") || Catch::Contains("impossible"));
    CHECK_THAT(parse_error(one_tensor_file(0, 4, UINT64_MAX - 31)), Catch::Contains("alignment") || Catch::Contains("outside"));

    Bytes dup;
    dup.header(3, 2, 0);
    for (int i = 0; i < 2; ++i) dup.str("t").put<uint32_t>(1).put<uint64_t>(4).put<uint32_t>(0).put<uint64_t>(0);
    dup.pad_to(32).b.resize(dup.b.size() + 32);
    CHECK_THAT(parse_error(dup.b), Catch::Contains("duplicate tensor name 't'"));

    Bytes dims;
    dims.header(3, 1, 0).str("t").put<uint32_t>(5).b.resize(128, 0);
    CHECK_THAT(parse_error(dims.b), Catch::Contains("5 dimensions"));
    Bytes overflow;
    overflow.header(3, 1, 0).str("t").put<uint32_t>(2).put<uint64_t>(1ull << 40).put<uint64_t>(1ull << 40).b.resize(128, 0);
    CHECK_THAT(parse_error(overflow.b), Catch::Contains("impossible shape"));
}
