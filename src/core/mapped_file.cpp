#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace ember {

MappedFile::MappedFile(const std::string &path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(EMBER_ERR_IO, path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int err = errno;
        ::close(fd);
        fail(EMBER_ERR_IO, path + ": not a regular file" + (err ? std::string(": ") + std::strerror(err) : ""));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
        void *p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            fail(EMBER_ERR_IO, path + ": cannot map: " + std::strerror(err));
        }
        data_ = static_cast<const uint8_t *>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
    if (data_) {
        if (locked_) ::munlock(data_, size_);
        ::munmap(const_cast<uint8_t *>(data_), size_);
    }
}

bool MappedFile::lock() {
    if (!data_ || locked_) return true;
    locked_ = ::mlock(data_, size_) == 0;
    return locked_;
}

void MappedFile::release(const void *p, size_t n) const {
    if (!data_ || locked_ || n == 0) return;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto lo = reinterpret_cast<uintptr_t>(p), hi = lo + n;
    const auto base = reinterpret_cast<uintptr_t>(data_);
    if (lo < base || hi > base + size_) return;  // not ours
    const uintptr_t first = (lo + page - 1) / page * page, last = hi / page * page;
    if (first < last) ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
}

}  // namespace ember
