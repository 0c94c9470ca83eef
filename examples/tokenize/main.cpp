// ember-tokenize: shows how a model's tokenizer splits a text.
//   ember-tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--parse-special] [--ids]
// Exit status: 0 success, 1 bad input (unreadable model or file), 2 bad usage.
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace {

const char *kUsage =
    "usage: ember-tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--parse-special] [--ids]\n"
    "  -m, --model FILE    GGUF file with a tokenizer (a model or a vocab-only file)\n"
    "  -p, --prompt TEXT   text to tokenize\n"
    "  -f, --file FILE     tokenize the file's bytes exactly as they are\n"
    "  --no-bos            do not add BOS/EOS even where the model asks for them\n"
    "                      (an empty text always gives no tokens)\n"
    "  --parse-special     turn special-token text such as <|im_start|> into its id\n"
    "  --ids               print only the ids, as [1, 2, 3]\n";

int usage_error(const std::string &message) {
    std::fprintf(stderr, "ember-tokenize: %s\n%s", message.c_str(), kUsage);
    return 2;
}

// Shows a piece on one line: control characters, quotes and bytes that are not (yet) valid
// UTF-8 (a token can hold part of a character) are escaped.
std::string printable(const std::string &piece) {
    namespace unicode = ember::tokenizer::unicode;
    std::string out;
    char buf[8];
    for (size_t pos = 0; pos < piece.size();) {
        const unicode::Decoded d = unicode::decode_utf8(piece, pos);
        const auto c = static_cast<unsigned char>(piece[pos]);
        if (d.len > 1) {
            out.append(piece, pos, d.len);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\\' || c == '\'') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
        pos += d.len;
    }
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    std::string model_path, text, text_file;
    bool have_text = false, have_file = false;
    bool add_special = true, parse_special = false, ids_only = false;

    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](std::string &out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "-m" || arg == "--model") {
            if (!value(model_path)) return usage_error(arg + " needs a file");
        } else if (arg == "-p" || arg == "--prompt") {
            if (!value(text)) return usage_error(arg + " needs a text");
            have_text = true;
        } else if (arg == "-f" || arg == "--file") {
            if (!value(text_file)) return usage_error(arg + " needs a file");
            have_file = true;
        } else if (arg == "--no-bos") {
            add_special = false;
        } else if (arg == "--parse-special") {
            parse_special = true;
        } else if (arg == "--ids") {
            ids_only = true;
        } else {
            return usage_error("unknown argument '" + arg + "'");
        }
    }
    if (model_path.empty()) return usage_error("a model is required (-m MODEL)");
    if (have_text == have_file) return usage_error("give exactly one of -p TEXT or -f FILE");

    if (have_file) {
        std::ifstream in(text_file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "ember-tokenize: %s: cannot open the file\n", text_file.c_str());
            return 1;
        }
        std::ostringstream bytes;
        bytes << in.rdbuf();
        if (in.bad()) {
            std::fprintf(stderr, "ember-tokenize: %s: read error\n", text_file.c_str());
            return 1;
        }
        text = bytes.str();
    }

    try {
        const auto file = ember::gguf::File::open(model_path);
        const ember::tokenizer::Vocab vocab(*file);
        for (const std::string &warning : vocab.warnings()) {
            std::fprintf(stderr, "ember-tokenize: warning: %s\n", warning.c_str());
        }
        // An empty text has no tokens at all, not even BOS.
        const std::vector<int32_t> ids =
            text.empty() ? std::vector<int32_t>{} : vocab.tokenize(text, add_special, parse_special);
        if (ids_only) {
            std::string line = "[";
            for (size_t i = 0; i < ids.size(); ++i) {
                if (i) line += ", ";
                line += std::to_string(ids[i]);
            }
            line += "]\n";
            std::fputs(line.c_str(), stdout);
        } else {
            for (int32_t id : ids) {
                std::printf("%6d -> '%s'\n", id, printable(vocab.token_to_piece(id, true)).c_str());
            }
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "ember-tokenize: %s\n", e.what());
        return 1;
    }
    return 0;
}
