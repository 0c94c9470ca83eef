#include "vocab_fixtures.h"

#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "gguf/gguf_file.h"
#include "support/test_paths.h"

namespace ember::test {

namespace {

// "NAME" -> vocab/ggml-vocab-NAME.gguf; "DIR/NAME" -> DIR/vocab/ggml-vocab-NAME.gguf (e.g.
// "archs/gemma-4" for the vocabularies that came with the newer architectures).
std::string vocab_path(const std::string &name) {
    const size_t slash = name.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    return shared_path(dir + "vocab/ggml-vocab-" + base + ".gguf");
}

}  // namespace

const std::vector<std::string> &vocab_names() {
    static const std::vector<std::string> names = {
        "llama-spm", "phi-3",  "llama-bpe", "qwen2", "gpt-2",  "deepseek-llm",
        "deepseek-coder", "starcoder", "falcon", "mpt", "refact", "archs/gemma-4",
    };
    return names;
}

const tokenizer::Vocab &shared_vocab(const std::string &name) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<tokenizer::Vocab>> cache;
    std::lock_guard<std::mutex> lock(mutex);
    auto &slot = cache[name];
    if (!slot) {
        const auto file = gguf::File::open(vocab_path(name));
        slot = std::make_unique<tokenizer::Vocab>(*file);
    }
    return *slot;
}

std::vector<VocabCase> vocab_cases(const std::string &name) {
    const std::string base = vocab_path(name);
    const std::vector<uint8_t> inp_bytes = read_file_bytes(base + ".inp");
    const std::vector<uint8_t> out_bytes = read_file_bytes(base + ".out");
    const std::string inp(inp_bytes.begin(), inp_bytes.end());
    const std::string out(out_bytes.begin(), out_bytes.end());

    // Inputs are separated by the exact line "__ggml_vocab_test__". Most files end with one;
    // the Gemma 4 file ends with its last input instead (no separator, no final newline).
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    size_t start = 0;
    for (size_t at; (at = inp.find(sep, start)) != std::string::npos; start = at + sep.size()) {
        inputs.push_back(inp.substr(start, at - start));
    }
    if (start < inp.size()) inputs.push_back(inp.substr(start));

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
    // Every output line belongs to an input: a leftover one means the inputs were misread.
    while (std::getline(lines, line)) {
        if (!line.empty()) throw std::runtime_error(base + ".out has more lines than inputs");
    }
    return cases;
}

}  // namespace ember::test
