#include "vocab_fixtures.h"

#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "gguf/gguf_file.h"
#include "support/test_paths.h"

namespace ember::test {

const std::vector<std::string> &vocab_names() {
    static const std::vector<std::string> names = {
        "llama-spm", "phi-3",  "llama-bpe", "qwen2", "gpt-2",  "deepseek-llm",
        "deepseek-coder", "starcoder", "falcon", "mpt", "refact",
    };
    return names;
}

const tokenizer::Vocab &shared_vocab(const std::string &name) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<tokenizer::Vocab>> cache;
    std::lock_guard<std::mutex> lock(mutex);
    auto &slot = cache[name];
    if (!slot) {
        const auto file = gguf::File::open(shared_path("vocab/ggml-vocab-" + name + ".gguf"));
        slot = std::make_unique<tokenizer::Vocab>(*file);
    }
    return *slot;
}

std::vector<VocabCase> vocab_cases(const std::string &name) {
    const std::string base = shared_path("vocab/ggml-vocab-" + name + ".gguf");
    const std::vector<uint8_t> inp_bytes = read_file_bytes(base + ".inp");
    const std::vector<uint8_t> out_bytes = read_file_bytes(base + ".out");
    const std::string inp(inp_bytes.begin(), inp_bytes.end());
    const std::string out(out_bytes.begin(), out_bytes.end());

    // Inputs are separated by the exact line "__ggml_vocab_test__"; the file ends with one.
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    size_t start = 0;
    for (size_t at; (at = inp.find(sep, start)) != std::string::npos; start = at + sep.size()) {
        inputs.push_back(inp.substr(start, at - start));
    }

    std::vector<VocabCase> cases;
    std::istringstream lines(out);
    std::string line;
    for (const std::string &input : inputs) {
        if (!std::getline(lines, line)) throw std::runtime_error(base + ".out has fewer lines than inputs");
        VocabCase c{input, {}};
        std::istringstream ids(line);
        for (int32_t id; ids >> id;) c.expected.push_back(id);
        cases.push_back(std::move(c));
    }
    return cases;
}

}  // namespace ember::test
