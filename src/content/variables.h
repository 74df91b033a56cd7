#pragma once

#include "content/value.h"

#include <string>
#include <string_view>
#include <vector>

namespace envflow::content {

// The declared types of a variable: string, number, boolean, url, json, enum.
//
//  - string:  a string scalar;
//  - number:  an integer or a finite number;
//  - boolean: true or false;
//  - url:     a string holding an absolute http:// or https:// URL with a
//             non-empty host, an optional numeric port and no blanks;
//  - json:    any value (mapping, sequence or scalar, null included);
//  - enum:    a string equal to one of the declared `values`.

// Check `value` for a variable of `type`, with `values` the allowed values of
// an enum. Return "" when it is acceptable, else what is expected and what was
// given, e.g. "expected a url (absolute http or https URL), got 'ftp://x'".
std::string check_variable_value(std::string_view type, const std::vector<std::string>& values,
                                 const Value& value);

// Parse `text`, given on a command line (`envflow var set NAME TEXT`), as a
// value of `type`: number is a JSON number, boolean is `true` or `false`, json
// is any JSON text, url / enum / string take the text as it is (then checked
// like `check_variable_value`). On success store the typed Value in `out` and
// return ""; else leave `out` alone and return what is expected.
std::string parse_variable_text(std::string_view type, const std::vector<std::string>& values,
                                std::string_view text, Value& out);

} // namespace envflow::content
