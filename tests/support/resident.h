// How much of a file this process holds in memory, from /proc/self/smaps: the tests that check
// weights stay in the mapping (not copied) and that one-pass readers drop what they read.
#pragma once

#include <string>

namespace ember::test {

// Resident kilobytes of this process's mappings of `path` (matched by canonical path); -1 where
// /proc is not there.
long long mapped_resident_kb(const std::string &path);

}  // namespace ember::test
