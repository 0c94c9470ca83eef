// JSON Schema -> GBNF whose sentences are exactly the JSON documents the schema accepts (for
// the supported keywords). Whatever is not enforced is refused: an unknown keyword, or a
// known one in a form this converter cannot enforce, throws ember::Error
// (EMBER_ERR_UNSUPPORTED) naming the keyword and its JSON pointer, e.g.
// "json schema: unsupported keyword 'patternProperties' at /properties/a".
//
// Supported: type (and type arrays), properties, required, additionalProperties (true,
// false or a schema; absent means allowed), enum, const, items, prefixItems, minItems,
// maxItems, minLength, maxLength, minimum/maximum (and exclusive ones) for integers, pattern
// (an anchored regular-expression subset, see regex_to_grammar.h), format date, time,
// date-time and uuid, anyOf, oneOf (when no value can match two alternatives: different
// types, or objects told apart by a required property's const/enum values; otherwise an
// error), allOf of object schemas, $ref to #/$defs/... or #/definitions/... (recursive ones included). Annotations
// (title, description, $schema, $id, $comment, default, examples, deprecated, readOnly,
// writeOnly) are ignored.
//
// Objects are written with the schema's properties first, in the schema's order, then any
// additional ones (whose names differ from them).
//
// Whitespace between JSON tokens is bounded (none, one space, or a newline and at most 20
// spaces or tabs), so a
// model cannot stall inside a document; numbers have at most 16 digits before and after the
// point.
#pragma once

#include <string>
#include <string_view>

namespace ember::sampling {

// The GBNF text; its start rule is "root". Throws ember::Error: EMBER_ERR_INVALID_ARGUMENT
// for text that is not JSON or not a schema, EMBER_ERR_UNSUPPORTED as above.
std::string json_schema_to_grammar(std::string_view schema_json);

}  // namespace ember::sampling
