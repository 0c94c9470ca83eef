// A read-only memory mapping of a whole file; weights are used in place from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ember {

class MappedFile {
public:
    // Maps `path` read-only; throws ember::Error (EMBER_ERR_IO) naming the file on failure.
    explicit MappedFile(const std::string &path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const uint8_t *data() const { return data_; }
    size_t size() const { return size_; }
    const std::string &path() const { return path_; }

    // Pins the pages in RAM (mlock); returns false (with errno set) when the OS refuses.
    bool lock();
    // Drops the resident pages wholly inside [p, p + n) (a range of this mapping) from this
    // process; they are read from the file again if touched. For one-pass readers (the
    // quantizer), whose resident set would otherwise grow to the whole file. Not while locked.
    void release(const void *p, size_t n) const;

private:
    std::string path_;
    const uint8_t *data_ = nullptr;
    size_t size_ = 0;
    bool locked_ = false;
};

}  // namespace ember
