// The registry: every module in arch/, listed by the build (generated/arch_list.inc).
#include <vector>

#include "model/architecture.h"

namespace ember::model {

#define EMBER_ARCH(id) const ArchDef &arch_##id();
#include "arch_list.inc"
#undef EMBER_ARCH

namespace {

const std::vector<const ArchDef *> &registry() {
    static const std::vector<const ArchDef *> rows = {
#define EMBER_ARCH(id) &arch_##id(),
#include "arch_list.inc"
#undef EMBER_ARCH
    };
    return rows;
}

}  // namespace

const ArchDef *find_architecture(const std::string &name) {
    for (const ArchDef *a : registry())
        if (name == a->name) return a;
    return nullptr;
}

std::string architecture_names() {
    std::string s;
    for (const ArchDef *a : registry()) s += (s.empty() ? "" : ", ") + std::string(a->name);
    return s;
}

}  // namespace ember::model
