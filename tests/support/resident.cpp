#include "support/resident.h"

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace ember::test {

long long mapped_resident_kb(const std::string &path) {
    char canonical[PATH_MAX];
    if (!realpath(path.c_str(), canonical)) return -1;
    FILE *f = std::fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[PATH_MAX + 256];
    bool in_file = false;
    long long kb = 0, total = 0;
    while (std::fgets(line, sizeof line, f)) {
        unsigned long lo = 0, hi = 0;
        int path_at = 0;
        // A mapping's header line: "lo-hi perms offset dev inode   path".
        if (std::sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path_at) == 2 && path_at > 0) {
            std::string name(line + path_at);
            while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
            in_file = name == canonical;
        } else if (in_file && std::sscanf(line, "Rss: %lld kB", &kb) == 1) {
            total += kb;
        }
    }
    std::fclose(f);
    return total;
}

}  // namespace ember::test
