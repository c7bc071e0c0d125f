// json.h: JSON for the core, with nlohmann/json, safely without exceptions.
//
// Owns: the few ways the core reads and writes JSON (etcd's gateway, the
// node-id registry's records), so that no call that would throw (and so
// abort, in a core built with -fno-exceptions) is made anywhere else:
// parsing never throws (a malformed text is a discarded value), reading a
// member checks its type first, and dumping replaces invalid UTF-8 instead
// of throwing.
//
// Why nlohmann/json: it lives in a C++ namespace. A C JSON library (jansson)
// exports json_object(), and the postgres executable exports an SQL function
// of that name, which the dynamic linker binds the library's own calls to.
//
// Threading: values are plain objects; no shared state.
#ifndef SNOWFLAKE_CORE_JSON_H
#define SNOWFLAKE_CORE_JSON_H

#define JSON_NOEXCEPTION 1
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace snowflake {

using Json = nlohmann::json;

// A discarded value (is_discarded()) for text that is not JSON.
inline Json ParseJson(const std::string& text) {
  return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// Compact text; invalid UTF-8 in strings becomes U+FFFD rather than an error.
inline std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The member, if object has it with that type; false otherwise.
inline const Json* JsonMember(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

inline bool JsonString(const Json& object, const char* key, std::string* out) {
  const Json* member = JsonMember(object, key);
  if (member == nullptr || !member->is_string()) return false;
  *out = member->get_ref<const std::string&>();
  return true;
}

inline bool JsonInteger(const Json& object, const char* key, int64_t* out) {
  const Json* member = JsonMember(object, key);
  if (member == nullptr || !member->is_number_integer()) return false;
  *out = member->get<int64_t>();
  return true;
}

// Whether text is valid UTF-8 (a JSON string must be): the library's
// lenient dumps drop or replace invalid bytes, and agree only when there
// are none.
inline bool ValidUtf8(const std::string& text) {
  const Json value(text);
  return value.dump(-1, ' ', false, Json::error_handler_t::ignore) ==
         value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_JSON_H
