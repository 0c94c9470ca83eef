// The sub-commands of ember-gguf; each takes the arguments after its name.
#pragma once

#include <string>
#include <vector>

namespace ember::tools {

int info_command(const std::vector<std::string> &args);
int split_command(const std::vector<std::string> &args);
int merge_command(const std::vector<std::string> &args);
int dequant_command(const std::vector<std::string> &args);

}  // namespace ember::tools
