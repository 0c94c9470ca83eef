#include "support/test_paths.h"

#include <cstdint>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace ember::test {

std::string shared_dir() {
    if (const char *env = std::getenv("EMBER_SHARED_DIR")) return env;
    return EMBER_SHARED_DIR_DEFAULT;
}

std::string shared_path(const std::string &relative) { return shared_dir() + "/" + relative; }

std::vector<uint8_t> read_file_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string temp_dir(const std::string &name) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("ember-test-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

}  // namespace ember::test
