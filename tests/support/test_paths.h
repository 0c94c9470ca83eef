// Where tests find the shared fixtures (../shared beside the repository, or EMBER_SHARED_DIR).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember::test {

std::string shared_dir();
// shared_dir() + "/" + relative
std::string shared_path(const std::string &relative);
std::vector<uint8_t> read_file_bytes(const std::string &path);
// A fresh, empty scratch directory for one test.
std::string temp_dir(const std::string &name);

}  // namespace ember::test
