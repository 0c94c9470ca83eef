#include "sampling/json_schema_to_grammar.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sampling/regex_to_grammar.h"

namespace ember::sampling {

namespace {

using Json = nlohmann::ordered_json;  // keeps properties in the schema's order

constexpr size_t kMaxDepth = 64;
constexpr int64_t kMaxCount = 1000;       // minItems/maxItems/minLength/maxLength we expand
constexpr int64_t kIntegerLimit = 9999999999999999;  // 16 digits, as the number rules allow

// The shared building blocks. A string's characters are one code point each in the bounded
// form (no \u escapes, so that a surrogate pair cannot make a string shorter than counted).
const char *kPrimitives = R"(ws ::= | " " | "\n" [ \t]{0,20}
json-char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
json-char-counted ::= [^"\\\x00-\x1F] | "\\" ["\\/bfnrt]
json-string ::= "\"" json-char* "\""
json-int ::= "-"? ("0" | [1-9] [0-9]{0,15})
json-number ::= json-int ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?
json-boolean ::= "true" | "false"
json-null ::= "null"
json-value ::= json-object | json-array | json-string | json-number | json-boolean | json-null
json-object ::= "{" ws (json-string ws ":" ws json-value ws ("," ws json-string ws ":" ws json-value ws)*)? "}"
json-array ::= "[" ws (json-value ws ("," ws json-value ws)*)? "]"
json-raw-char ::= [^"\\\x00-\x1F]
)";

const std::set<std::string> kAnnotations = {"title",    "description", "$schema",    "$id",     "$comment",
                                            "default",  "examples",    "deprecated", "readOnly", "writeOnly"};
const std::set<std::string> kSupported = {
    "type",     "properties", "required",  "additionalProperties", "enum",      "const",       "items",
    "prefixItems", "minItems", "maxItems", "minLength",            "maxLength", "minimum",     "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "pattern", "format",   "anyOf",     "oneOf",       "allOf",
    "$ref",     "$defs",      "definitions"};

std::string gbnf_literal(const std::string &bytes) {
    std::string out = "\"";
    for (unsigned char c : bytes) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);  // UTF-8 passes through: GBNF reads it as characters
        }
    }
    return out + "\"";
}

std::string escape_pointer_token(const std::string &s) {
    std::string out;
    for (char c : s) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

class Converter {
public:
    explicit Converter(Json doc) : doc_(std::move(doc)) {}

    std::string convert() {
        const std::string root = visit(doc_, "", 0);
        std::string out = "root ::= " + root + "\n";
        for (const auto &[name, body] : rules_) out += name + " ::= " + body + "\n";
        return out + kPrimitives;
    }

private:
    [[noreturn]] static void unsupported(const std::string &message) {
        fail(EMBER_ERR_UNSUPPORTED, "json schema: " + message);
    }
    [[noreturn]] static void invalid(const std::string &message) {
        fail(EMBER_ERR_INVALID_ARGUMENT, "json schema: " + message);
    }
    static std::string at(const std::string &pointer) { return "#" + pointer; }

    std::string new_rule(const std::string &pointer, const std::string &body) {
        const std::string name = reserve_name(pointer);
        rules_.emplace_back(name, body);
        return name;
    }

    std::string reserve_name(const std::string &pointer) {
        std::string base = "s";
        for (char c : pointer) base += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
        std::string name = base;
        for (int i = 2; used_names_.count(name); ++i) name = base + "-" + std::to_string(i);
        used_names_.insert(name);
        return name;
    }

    void check_keywords(const Json &schema, const std::string &pointer) {
        for (auto it = schema.begin(); it != schema.end(); ++it) {
            if (kAnnotations.count(it.key()) || kSupported.count(it.key())) continue;
            unsupported("unsupported keyword '" + it.key() + "' at " + at(pointer));
        }
    }

    static bool has_only(const Json &schema, const std::set<std::string> &allowed) {
        for (auto it = schema.begin(); it != schema.end(); ++it)
            if (!kAnnotations.count(it.key()) && !allowed.count(it.key())) return false;
        return true;
    }

    static std::string first_other(const Json &schema, const std::set<std::string> &allowed) {
        for (auto it = schema.begin(); it != schema.end(); ++it)
            if (!kAnnotations.count(it.key()) && !allowed.count(it.key())) return it.key();
        return "";
    }

    // A schema -> the name of a rule matching exactly its JSON values.
    std::string visit(const Json &schema, const std::string &pointer, size_t depth) {
        if (depth > kMaxDepth) unsupported("schema nested more than " + std::to_string(kMaxDepth) + " deep at " + at(pointer));
        if (schema.is_boolean()) {
            if (schema.get<bool>()) return "json-value";
            unsupported("the schema 'false' at " + at(pointer) + " accepts no value");
        }
        if (!schema.is_object()) invalid("the schema at " + at(pointer) + " is not an object or a boolean");
        check_keywords(schema, pointer);

        if (schema.contains("$ref")) {
            const std::string other = first_other(schema, {"$ref", "$defs", "definitions"});
            if (!other.empty()) unsupported("keyword '" + other + "' beside '$ref' at " + at(pointer));
            return visit_ref(schema["$ref"], pointer, depth);
        }
        for (const char *combiner : {"anyOf", "oneOf"}) {
            if (!schema.contains(combiner)) continue;
            const std::string other = first_other(schema, {combiner, "$defs", "definitions"});
            if (!other.empty()) unsupported("keyword '" + other + "' beside '" + combiner + "' at " + at(pointer));
            const Json &alts = schema[combiner];
            if (!alts.is_array() || alts.empty()) invalid("'" + std::string(combiner) + "' at " + at(pointer) + " must be a non-empty array");
            if (std::string(combiner) == "oneOf") check_one_of_disjoint(alts, pointer);
            std::string body;
            for (size_t i = 0; i < alts.size(); ++i)
                body += (i ? " | " : "") + visit(alts[i], pointer + "/" + combiner + "/" + std::to_string(i), depth + 1);
            return new_rule(pointer, body);
        }
        if (schema.contains("allOf")) return visit(merge_all_of(schema, pointer, depth), pointer, depth + 1);
        for (const char *listing : {"const", "enum"}) {
            if (!schema.contains(listing)) continue;
            const std::string other = first_other(schema, {listing, "$defs", "definitions", "type"});
            if (!other.empty()) unsupported("keyword '" + other + "' beside '" + listing + "' at " + at(pointer));
            const bool is_const = std::string(listing) == "const";
            const Json values = is_const ? Json::array({schema["const"]}) : schema["enum"];
            if (!values.is_array() || values.empty()) invalid("'enum' at " + at(pointer) + " must be a non-empty array");
            // With "type" beside them, only the values of those types are valid.
            const std::vector<std::string> types = schema.contains("type") ? declared_types(schema, pointer)
                                                                           : std::vector<std::string>{};
            std::string body;
            for (const Json &v : values) {
                if (!types.empty() && std::none_of(types.begin(), types.end(),
                                                   [&](const std::string &t) { return has_type(v, t); }))
                    continue;
                body += (body.empty() ? "" : " | ") + gbnf_literal(v.dump());
            }
            if (body.empty())
                unsupported("'" + std::string(listing) + "' at " + at(pointer) + " has no value of the declared 'type'");
            return new_rule(pointer, body);
        }

        std::vector<std::string> types;
        if (schema.contains("type")) types = declared_types(schema, pointer);
        else types.push_back(infer_type(schema));
        std::string body;
        for (size_t i = 0; i < types.size(); ++i) body += (i ? " | " : "") + visit_type(schema, types[i], pointer, depth);
        return new_rule(pointer, body);
    }

    static std::vector<std::string> declared_types(const Json &schema, const std::string &pointer) {
        std::vector<std::string> types;
        const Json &t = schema["type"];
        if (t.is_string()) types.push_back(t.get<std::string>());
        else if (t.is_array() && !t.empty())
            for (const Json &x : t) {
                if (!x.is_string()) invalid("'type' at " + at(pointer) + " must name types");
                types.push_back(x.get<std::string>());
            }
        else invalid("'type' at " + at(pointer) + " must be a string or a non-empty array");
        return types;
    }

    static bool is_integral(const Json &v) {
        return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    }

    static bool has_type(const Json &v, const std::string &t) {
        if (t == "null") return v.is_null();
        if (t == "boolean") return v.is_boolean();
        if (t == "object") return v.is_object();
        if (t == "array") return v.is_array();
        if (t == "string") return v.is_string();
        if (t == "integer") return is_integral(v);
        if (t == "number") return v.is_number();
        return false;
    }

    static std::string type_of(const Json &v) {
        if (v.is_null()) return "null";
        if (v.is_boolean()) return "boolean";
        if (v.is_object()) return "object";
        if (v.is_array()) return "array";
        if (v.is_string()) return "string";
        return is_integral(v) ? "integer" : "number";
    }

    // The JSON types a schema's values may have (an over-estimate is safe: it only makes
    // oneOf refuse more).
    std::set<std::string> possible_types(const Json &schema, const std::string &pointer, size_t depth) const {
        static const std::set<std::string> all = {"null", "boolean", "object", "array", "string", "integer", "number"};
        if (depth > kMaxDepth || !schema.is_object()) return schema.is_boolean() && !schema.get<bool>() ? std::set<std::string>{} : all;
        if (schema.contains("$ref")) return possible_types(deref(schema, pointer), pointer, depth + 1);
        std::set<std::string> out;
        if (schema.contains("const")) return {type_of(schema["const"])};
        if (schema.contains("enum") && schema["enum"].is_array()) {
            for (const Json &v : schema["enum"]) out.insert(type_of(v));
            return out;
        }
        for (const char *combiner : {"anyOf", "oneOf"})
            if (schema.contains(combiner) && schema[combiner].is_array()) {
                for (const Json &alt : schema[combiner]) {
                    const auto t = possible_types(alt, pointer, depth + 1);
                    out.insert(t.begin(), t.end());
                }
                return out;
            }
        if (schema.contains("allOf")) return {"object"};
        if (schema.contains("type")) {
            for (const std::string &t : declared_types(schema, pointer)) out.insert(t);
            return out;
        }
        const std::string inferred = infer_type(schema);
        return inferred == "any" ? all : std::set<std::string>{inferred};
    }

    // The values a property schema allows when it lists them (const or enum), else empty.
    std::vector<Json> listed_values(const Json &schema, const std::string &pointer) const {
        const Json &s = deref(schema, pointer);
        if (!s.is_object()) return {};
        if (s.contains("const")) return {s["const"]};
        if (s.contains("enum") && s["enum"].is_array()) return std::vector<Json>(s["enum"].begin(), s["enum"].end());
        return {};
    }

    // Two object schemas that both require a property whose listed values differ (a tagged
    // union) never match the same object.
    bool tagged_apart(const Json &a_ref, const Json &b_ref, const std::string &pointer) const {
        const Json &a = deref(a_ref, pointer), &b = deref(b_ref, pointer);
        for (const Json *s : {&a, &b})
            if (!s->is_object() || !s->contains("properties") || !s->contains("required") || !(*s)["required"].is_array())
                return false;
        for (const Json &name : a["required"]) {
            if (!name.is_string()) continue;
            const std::string k = name.get<std::string>();
            const bool b_requires = std::find(b["required"].begin(), b["required"].end(), name) != b["required"].end();
            if (!b_requires || !a["properties"].contains(k) || !b["properties"].contains(k)) continue;
            const auto va = listed_values(a["properties"][k], pointer), vb = listed_values(b["properties"][k], pointer);
            if (va.empty() || vb.empty()) continue;
            bool shared = false;
            for (const Json &x : va)
                for (const Json &y : vb) shared = shared || x == y;
            if (!shared) return true;
        }
        return false;
    }

    // oneOf means exactly one alternative matches. The grammar can only offer the union, so it
    // is accepted when no value can match two alternatives: their types differ, or they are
    // objects told apart by a required property's listed values.
    void check_one_of_disjoint(const Json &alts, const std::string &pointer) const {
        for (size_t i = 0; i < alts.size(); ++i)
            for (size_t j = i + 1; j < alts.size(); ++j) {
                const auto ti = possible_types(alts[i], pointer, 0), tj = possible_types(alts[j], pointer, 0);
                bool overlap = false;
                for (const std::string &t : ti)
                    overlap = overlap || tj.count(t) || (t == "number" && tj.count("integer")) ||
                              (t == "integer" && tj.count("number"));
                if (overlap && !tagged_apart(alts[i], alts[j], pointer))
                    unsupported("'oneOf' at " + at(pointer) + ": alternatives " + std::to_string(i) + " and " +
                                std::to_string(j) + " may match the same value (oneOf needs exactly one; anyOf accepts both)");
            }
    }

    // Without "type": the type the other keywords are about (enforcing it is a subset of
    // what the schema allows), or any value.
    static std::string infer_type(const Json &schema) {
        for (const char *k : {"properties", "additionalProperties", "required"})
            if (schema.contains(k)) return "object";
        for (const char *k : {"items", "prefixItems", "minItems", "maxItems"})
            if (schema.contains(k)) return "array";
        for (const char *k : {"pattern", "format", "minLength", "maxLength"})
            if (schema.contains(k)) return "string";
        for (const char *k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
            if (schema.contains(k)) return "integer";
        return "any";
    }

    std::string visit_type(const Json &schema, const std::string &type, const std::string &pointer, size_t depth) {
        if (type == "any") return "json-value";
        if (type == "object") return visit_object(schema, pointer, depth);
        if (type == "array") return visit_array(schema, pointer, depth);
        if (type == "string") return visit_string(schema, pointer);
        if (type == "integer") return visit_integer(schema, pointer);
        if (type == "number") {
            for (const char *k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
                if (schema.contains(k))
                    unsupported("'" + std::string(k) + "' for type 'number' at " + at(pointer) + " (only integers take bounds)");
            return "json-number";
        }
        if (type == "boolean") return "json-boolean";
        if (type == "null") return "json-null";
        invalid("unknown type '" + type + "' at " + at(pointer));
    }

    std::string visit_ref(const Json &ref, const std::string &pointer, size_t depth) {
        if (!ref.is_string()) invalid("'$ref' at " + at(pointer) + " must be a string");
        const std::string target = ref.get<std::string>();
        const auto known = ref_rules_.find(target);
        if (known != ref_rules_.end()) return known->second;
        if (target.empty() || target[0] != '#')
            unsupported("'$ref' to '" + target + "' at " + at(pointer) + " (only references inside the document, #/...)");
        const std::string target_pointer = target.substr(1);
        const Json *node = resolve(target_pointer);
        if (!node) invalid("'$ref' at " + at(pointer) + ": '" + target + "' does not exist");
        // The name is taken before the visit, so a recursive reference finds it.
        const std::string name = reserve_name(target_pointer.empty() ? "/ref-root" : target_pointer);
        ref_rules_.emplace(target, name);
        const std::string body = visit(*node, target_pointer, depth + 1);
        rules_.emplace_back(name, body);
        return name;
    }

    const Json *resolve(const std::string &pointer) const {
        if (pointer.empty()) return &doc_;
        if (pointer[0] != '/') return nullptr;
        try {
            const Json &node = doc_.at(Json::json_pointer(pointer));
            return &node;
        } catch (const std::exception &) {
            return nullptr;
        }
    }

    // The schema a $ref (or a chain of them) stands for. Keywords beside a $ref are refused
    // here as in visit(), so that no caller can drop them silently.
    const Json &deref(const Json &schema, const std::string &pointer) const {
        const Json *s = &schema;
        for (size_t hops = 0; s->is_object() && s->contains("$ref"); ++hops) {
            if (hops > kMaxDepth) unsupported("a chain of more than " + std::to_string(kMaxDepth) + " '$ref's at " + at(pointer));
            const std::string other = first_other(*s, {"$ref", "$defs", "definitions"});
            if (!other.empty()) unsupported("keyword '" + other + "' beside '$ref' at " + at(pointer));
            const Json &ref = (*s)["$ref"];
            if (!ref.is_string()) invalid("'$ref' at " + at(pointer) + " must be a string");
            const std::string target = ref.get<std::string>();
            const Json *node = target.size() && target[0] == '#' ? resolve(target.substr(1)) : nullptr;
            if (!node) invalid("'$ref' at " + at(pointer) + ": '" + target + "' does not exist here");
            s = node;
        }
        return *s;
    }

    // allOf of object schemas: one object schema with every part's properties and required
    // names. Parts that close the object (additionalProperties) cannot be merged this way.
    Json merge_all_of(const Json &schema, const std::string &pointer, size_t depth) {
        const Json &parts = schema["allOf"];
        if (!parts.is_array() || parts.empty()) invalid("'allOf' at " + at(pointer) + " must be a non-empty array");
        Json merged = Json::object();
        merged["type"] = "object";
        Json properties = Json::object();
        std::vector<std::string> required;
        std::vector<std::pair<const Json *, std::string>> all = {{&schema, pointer}};
        for (size_t i = 0; i < parts.size(); ++i) all.emplace_back(&parts[i], pointer + "/allOf/" + std::to_string(i));
        const std::set<std::string> object_keywords = {"type", "properties", "required", "allOf", "$defs", "definitions", "$ref"};
        for (size_t k = 0; k < all.size(); ++k) {
            const Json &part = k == 0 ? *all[k].first : deref(*all[k].first, all[k].second);
            const std::string &ptr = all[k].second;
            if (!part.is_object()) unsupported("'allOf' at " + at(pointer) + " with a part that is not an object schema");
            if (k > 0) check_keywords(part, ptr);
            const std::string other = first_other(part, object_keywords);
            if (!other.empty())
                unsupported("keyword '" + other + "' in 'allOf' at " + at(ptr) + " (allOf is supported for object schemas with properties and required)");
            if (part.contains("type") && part["type"] != "object")
                unsupported("'allOf' at " + at(ptr) + " of a schema that is not of type object");
            if (k > 0 && part.contains("allOf")) {
                if (depth > kMaxDepth) unsupported("allOf nested too deep at " + at(ptr));
                const Json inner = merge_all_of(part, ptr, depth + 1);
                for (auto it = inner["properties"].begin(); it != inner["properties"].end(); ++it) properties[it.key()] = it.value();
                if (inner.contains("required"))
                    for (const Json &r : inner["required"]) required.push_back(r.get<std::string>());
                continue;
            }
            if (part.contains("properties")) {
                if (!part["properties"].is_object()) invalid("'properties' at " + at(ptr) + " must be an object");
                for (auto it = part["properties"].begin(); it != part["properties"].end(); ++it) {
                    if (properties.contains(it.key()) && properties[it.key()] != it.value())
                        unsupported("property '" + it.key() + "' defined differently in two parts of 'allOf' at " + at(pointer));
                    properties[it.key()] = it.value();
                }
            }
            if (part.contains("required")) {
                if (!part["required"].is_array()) invalid("'required' at " + at(ptr) + " must be an array");
                for (const Json &r : part["required"]) {
                    if (!r.is_string()) invalid("'required' at " + at(ptr) + " must list names");
                    required.push_back(r.get<std::string>());
                }
            }
        }
        merged["properties"] = properties;
        merged["required"] = required;
        // Property schemas keep their $refs, which resolve against the whole document.
        return merged;
    }

    std::string visit_object(const Json &schema, const std::string &pointer, size_t depth) {
        struct Property {
            std::string name;
            std::string value_rule;
            bool required;
        };
        std::vector<Property> props;
        std::set<std::string> required;
        if (schema.contains("required")) {
            const Json &r = schema["required"];
            if (!r.is_array()) invalid("'required' at " + at(pointer) + " must be an array");
            for (const Json &n : r) {
                if (!n.is_string()) invalid("'required' at " + at(pointer) + " must list names");
                required.insert(n.get<std::string>());
            }
        }
        std::string additional = "json-value";  // absent: allowed, any value
        bool additional_allowed = true;
        if (schema.contains("additionalProperties")) {
            const Json &a = schema["additionalProperties"];
            if (a.is_boolean()) additional_allowed = a.get<bool>();
            else additional = visit(a, pointer + "/additionalProperties", depth + 1);
        }
        std::set<std::string> names;
        if (schema.contains("properties")) {
            const Json &p = schema["properties"];
            if (!p.is_object()) invalid("'properties' at " + at(pointer) + " must be an object");
            for (auto it = p.begin(); it != p.end(); ++it) {
                const std::string ptr = pointer + "/properties/" + escape_pointer_token(it.key());
                props.push_back({it.key(), visit(it.value(), ptr, depth + 1), required.count(it.key()) > 0});
                names.insert(it.key());
            }
        }
        for (const std::string &r : required) {
            if (names.count(r)) continue;
            if (!additional_allowed)
                unsupported("required property '" + r + "' at " + at(pointer) + " is not allowed by additionalProperties false");
            props.push_back({r, additional, true});
            names.insert(r);
        }
        auto member = [&](const Property &p) {
            return gbnf_literal(Json(p.name).dump()) + " ws \":\" ws " + p.value_rule + " ws";
        };
        std::string extra_member;
        if (additional_allowed)
            extra_member = "\"\\\"\" " + key_not_in(names, pointer) + " \"\\\"\" ws \":\" ws " + additional + " ws";
        // after: the members from i on when one was written already (each needs its comma).
        std::string after = additional_allowed ? "(\",\" ws " + extra_member + ")*" : "";
        std::vector<std::string> after_from(props.size() + 1);
        after_from[props.size()] = after;
        for (size_t i = props.size(); i-- > 0;) {
            const std::string m = "\",\" ws " + member(props[i]);
            after_from[i] = (props[i].required ? m : "(" + m + ")?") + (after_from[i + 1].empty() ? "" : " " + after_from[i + 1]);
        }
        // first: the members from i on when none was written yet.
        std::string first = additional_allowed ? "(" + extra_member + (after.empty() ? "" : " " + after) + ")?" : "\"\"";
        for (size_t i = props.size(); i-- > 0;) {
            const std::string rest = after_from[i + 1].empty() ? "" : " " + after_from[i + 1];
            std::string body = member(props[i]) + rest;
            if (!props[i].required) body += " | " + first;
            first = new_rule(pointer + "/members-" + std::to_string(i), body);
        }
        return "\"{\" ws " + first + " \"}\"";
    }

    // A key (raw characters, no escapes) that is none of `names`: a walk down the trie of the
    // names that either leaves it or stops where no name ends.
    std::string key_not_in(const std::set<std::string> &names, const std::string &pointer) {
        std::vector<std::string> keys;
        for (const std::string &n : names) {
            bool raw = true;
            for (unsigned char c : n)
                if (c == '"' || c == '\\' || c < 0x20) raw = false;
            if (raw) keys.push_back(n);  // others can only be written with escapes, which extra keys never use
        }
        if (keys.empty()) return "json-raw-char*";
        return trie_rule(keys, "", pointer);
    }

    std::string trie_rule(const std::vector<std::string> &keys, const std::string &prefix, const std::string &pointer) {
        bool ends_here = false;
        std::map<unsigned char, std::vector<std::string>> next;
        for (const std::string &k : keys) {
            if (k.size() == prefix.size()) ends_here = true;
            else next[static_cast<unsigned char>(k[prefix.size()])].push_back(k);
        }
        std::vector<std::string> alts;
        if (!ends_here) alts.push_back("\"\"");
        std::string excluded = "\"\\\\\\x00-\\x1F";
        for (const auto &[byte, group] : next) {
            // Branch on the whole next character (a name may hold UTF-8).
            size_t len = 1;
            if (byte >= 0xC0) len = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
            std::map<std::string, std::vector<std::string>> by_char;
            for (const std::string &g : group) by_char[g.substr(prefix.size(), len)].push_back(g);
            for (const auto &[c, members] : by_char) {
                alts.push_back(gbnf_literal(c) + " " + trie_rule(members, prefix + c, pointer));
                std::string esc;
                for (char x : c) esc += (x == '^' || x == '-' || x == ']' || x == '[' ) ? std::string("\\") + x : std::string(1, x);
                excluded += esc;
            }
        }
        alts.push_back("[^" + excluded + "] json-raw-char*");
        std::string body;
        for (size_t i = 0; i < alts.size(); ++i) body += (i ? " | " : "") + alts[i];
        return new_rule(pointer + "/other-key", body);
    }

    static int64_t count_of(const Json &schema, const char *key, const std::string &pointer, int64_t fallback) {
        if (!schema.contains(key)) return fallback;
        const Json &v = schema[key];
        if (!v.is_number_integer() && !(v.is_number() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))))
            invalid("'" + std::string(key) + "' at " + at(pointer) + " must be a non-negative integer");
        const auto n = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
        if (n < 0) invalid("'" + std::string(key) + "' at " + at(pointer) + " must be a non-negative integer");
        if (n > kMaxCount) unsupported("'" + std::string(key) + "' of " + std::to_string(n) + " at " + at(pointer) + " (at most " + std::to_string(kMaxCount) + ")");
        return n;
    }

    std::string visit_array(const Json &schema, const std::string &pointer, size_t depth) {
        std::vector<std::string> prefix;
        std::string rest = "json-value";
        bool rest_allowed = true;
        if (schema.contains("prefixItems")) {
            const Json &p = schema["prefixItems"];
            if (!p.is_array()) invalid("'prefixItems' at " + at(pointer) + " must be an array");
            for (size_t i = 0; i < p.size(); ++i) prefix.push_back(visit(p[i], pointer + "/prefixItems/" + std::to_string(i), depth + 1));
        }
        if (schema.contains("items")) {
            const Json &it = schema["items"];
            if (it.is_array()) {  // the older tuple form
                if (!prefix.empty()) invalid("both 'prefixItems' and an array 'items' at " + at(pointer));
                for (size_t i = 0; i < it.size(); ++i) prefix.push_back(visit(it[i], pointer + "/items/" + std::to_string(i), depth + 1));
            } else if (it.is_boolean()) {
                rest_allowed = it.get<bool>();
            } else {
                rest = visit(it, pointer + "/items", depth + 1);
            }
        }
        const int64_t min = count_of(schema, "minItems", pointer, 0);
        const int64_t max = count_of(schema, "maxItems", pointer, -1);
        if (max >= 0 && max < min) unsupported("maxItems below minItems at " + at(pointer) + " accepts no array");
        const auto k = static_cast<int64_t>(prefix.size());
        if (!rest_allowed && min > k) unsupported("minItems above the number of allowed items at " + at(pointer));
        auto element = [&](int64_t j) { return (j < k ? prefix[static_cast<size_t>(j)] : rest) + " ws"; };
        // tail(j): what may follow j written items.
        const int64_t fixed = std::max(k, min);
        std::string tail_rest;  // from j >= fixed on: any number of further rest items, within max
        auto tail = [&](int64_t j) -> std::string {
            // j >= fixed: a repetition; the bound is what max leaves.
            if (!rest_allowed || (max >= 0 && j >= max)) return "\"\"";
            if (max < 0) return "(\",\" ws " + rest + " ws)*";
            return "(\",\" ws " + rest + " ws){0," + std::to_string(max - j) + "}";
        };
        std::string next = tail(std::max<int64_t>(fixed, 1));
        for (int64_t j = fixed - 1; j >= 1; --j) {
            const bool can_stop = j >= min;
            const bool can_go = (max < 0 || j < max) && (j < k || rest_allowed);
            std::string body;
            if (can_go) body = "\",\" ws " + element(j) + " " + next;
            if (can_stop) body = body.empty() ? "\"\"" : "\"\" | " + body;
            if (body.empty()) body = "\"\"";
            next = new_rule(pointer + "/tail-" + std::to_string(j), body);
        }
        const bool any_item = (max < 0 || max > 0) && (k > 0 || rest_allowed);
        if (!any_item) return "\"[\" ws \"]\"";
        const std::string items = element(0) + " " + next;
        return "\"[\" ws " + (min == 0 ? "(" + items + ")?" : items) + " \"]\"";
    }

    std::string visit_string(const Json &schema, const std::string &pointer) {
        const bool has_length = schema.contains("minLength") || schema.contains("maxLength");
        if (schema.contains("pattern")) {
            if (has_length || schema.contains("format"))
                unsupported("'pattern' together with 'minLength', 'maxLength' or 'format' at " + at(pointer));
            if (!schema["pattern"].is_string()) invalid("'pattern' at " + at(pointer) + " must be a string");
            return "\"\\\"\" " + regex_to_grammar(schema["pattern"].get<std::string>(), pointer) + " \"\\\"\"";
        }
        if (schema.contains("format")) {
            if (has_length) unsupported("'format' together with 'minLength' or 'maxLength' at " + at(pointer));
            if (!schema["format"].is_string()) invalid("'format' at " + at(pointer) + " must be a string");
            const std::string f = schema["format"].get<std::string>();
            const std::string date =
                "[1-9] [0-9]{3} \"-\" ((\"0\" [13578] | \"1\" [02]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01]) | "
                "(\"0\" [469] | \"11\") \"-\" (\"0\" [1-9] | [12] [0-9] | \"30\") | \"02-\" (\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]))";
            const std::string time =
                "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? "
                "(\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])";
            std::string body;
            if (f == "date") body = date;
            else if (f == "time") body = time;
            else if (f == "date-time") body = date + " \"T\" " + time;
            else if (f == "uuid")
                body = "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}";
            else unsupported("format '" + f + "' at " + at(pointer) + " (supported: date, time, date-time, uuid)");
            return "\"\\\"\" " + new_rule(pointer + "/format", body) + " \"\\\"\"";
        }
        if (!has_length) return "json-string";
        const int64_t min = count_of(schema, "minLength", pointer, 0);
        const int64_t max = count_of(schema, "maxLength", pointer, -1);
        if (max >= 0 && max < min) unsupported("maxLength below minLength at " + at(pointer) + " accepts no string");
        return "\"\\\"\" json-char-counted{" + std::to_string(min) + "," + (max >= 0 ? std::to_string(max) : "") + "} \"\\\"\"";
    }

    static int64_t bound(const Json &schema, const char *key, const std::string &pointer, bool &present) {
        present = schema.contains(key);
        if (!present) return 0;
        const Json &v = schema[key];
        if (!v.is_number()) invalid("'" + std::string(key) + "' at " + at(pointer) + " must be a number");
        const double d = v.get<double>();
        if (!(d > -1e17 && d < 1e17)) unsupported("'" + std::string(key) + "' at " + at(pointer) + " beyond 16 digits");
        return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(d);
    }

    std::string visit_integer(const Json &schema, const std::string &pointer) {
        bool has_min = false, has_max = false, has_emin = false, has_emax = false;
        int64_t lo = -kIntegerLimit, hi = kIntegerLimit;
        auto ceil_of = [](const Json &v) {
            const double d = v.get<double>();
            const auto i = static_cast<int64_t>(d);
            return static_cast<double>(i) < d ? i + 1 : i;
        };
        auto floor_of = [](const Json &v) {
            const double d = v.get<double>();
            const auto i = static_cast<int64_t>(d);
            return static_cast<double>(i) > d ? i - 1 : i;
        };
        bound(schema, "minimum", pointer, has_min);
        bound(schema, "maximum", pointer, has_max);
        bound(schema, "exclusiveMinimum", pointer, has_emin);
        bound(schema, "exclusiveMaximum", pointer, has_emax);
        if (has_min) lo = std::max(lo, schema["minimum"].is_number_integer() ? schema["minimum"].get<int64_t>() : ceil_of(schema["minimum"]));
        if (has_max) hi = std::min(hi, schema["maximum"].is_number_integer() ? schema["maximum"].get<int64_t>() : floor_of(schema["maximum"]));
        if (has_emin) lo = std::max(lo, (schema["exclusiveMinimum"].is_number_integer() ? schema["exclusiveMinimum"].get<int64_t>() : floor_of(schema["exclusiveMinimum"])) + 1);
        if (has_emax) hi = std::min(hi, (schema["exclusiveMaximum"].is_number_integer() ? schema["exclusiveMaximum"].get<int64_t>() : ceil_of(schema["exclusiveMaximum"])) - 1);
        if (!has_min && !has_max && !has_emin && !has_emax) return "json-int";
        if (lo > hi) unsupported("integer bounds at " + at(pointer) + " that no integer satisfies");
        std::vector<std::string> alts;
        if (lo < 0) {  // -max(1,-hi) .. -(-lo), written as "-" and the magnitude
            const int64_t mag_lo = hi < 0 ? -hi : 1, mag_hi = -lo;
            alts.push_back("\"-\" (" + natural_range(mag_lo, mag_hi) + ")");
        }
        if (hi >= 0) alts.push_back("(" + natural_range(std::max<int64_t>(lo, 0), hi) + ")");
        std::string body;
        for (size_t i = 0; i < alts.size(); ++i) body += (i ? " | " : "") + alts[i];
        return new_rule(pointer + "/range", body);
    }

    // Decimal numerals (no leading zeros) of the integers a..b, 0 <= a <= b.
    static std::string natural_range(int64_t a, int64_t b) {
        std::vector<std::string> alts;
        int64_t low = a;
        for (int digits = 1; digits <= 17 && low <= b; ++digits) {
            int64_t top = 9;
            for (int i = 1; i < digits; ++i) top = top * 10 + 9;
            if (low > top) continue;
            const int64_t high = std::min(b, top);
            alts.push_back(same_length(std::to_string(low), std::to_string(high)));
            low = high + 1;
        }
        std::string out;
        for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
        return out;
    }

    // Numerals of the same length from lo to hi, digit by digit.
    static std::string same_length(const std::string &lo, const std::string &hi) {
        if (lo.empty()) return "\"\"";
        auto digit_class = [](char x, char y) {
            return x == y ? "\"" + std::string(1, x) + "\"" : "[" + std::string(1, x) + "-" + std::string(1, y) + "]";
        };
        const std::string lo_rest = lo.substr(1), hi_rest = hi.substr(1);
        if (lo[0] == hi[0]) return "\"" + std::string(1, lo[0]) + "\" " + paren(same_length(lo_rest, hi_rest));
        const bool lo_all_zero = lo_rest.find_first_not_of('0') == std::string::npos;
        const bool hi_all_nine = hi_rest.find_first_not_of('9') == std::string::npos;
        const std::string any_rest = lo_rest.empty() ? "" : " [0-9]{" + std::to_string(lo_rest.size()) + "}";
        std::vector<std::string> alts;
        char first = lo[0], last = hi[0];
        if (!lo_all_zero) {
            alts.push_back("\"" + std::string(1, lo[0]) + "\" " + paren(same_length(lo_rest, std::string(lo_rest.size(), '9'))));
            ++first;
        }
        std::string tail_alt;
        if (!hi_all_nine) {
            tail_alt = "\"" + std::string(1, hi[0]) + "\" " + paren(same_length(std::string(hi_rest.size(), '0'), hi_rest));
            --last;
        }
        if (first <= last) alts.push_back(digit_class(first, last) + any_rest);
        if (!tail_alt.empty()) alts.push_back(tail_alt);
        std::string out;
        for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
        return out;
    }

    static std::string paren(const std::string &s) { return "(" + s + ")"; }

    Json doc_;
    std::vector<std::pair<std::string, std::string>> rules_;
    std::set<std::string> used_names_ = {"root", "ws"};
    std::map<std::string, std::string> ref_rules_;
};

}  // namespace

std::string json_schema_to_grammar(std::string_view schema_json) {
    Json doc;
    try {
        doc = Json::parse(schema_json.begin(), schema_json.end());
    } catch (const std::exception &e) {
        fail(EMBER_ERR_INVALID_ARGUMENT, std::string("json schema: not valid JSON: ") + e.what());
    }
    return Converter(std::move(doc)).convert();
}

}  // namespace ember::sampling
