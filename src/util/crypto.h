#pragma once

#include <string>
#include <string_view>

// The few cryptographic primitives envflow needs, from OpenSSL's libcrypto
// (a maintained, audited implementation: never hand-written crypto).
namespace envflow::util {

// HMAC-SHA256 of `data` under `key`, as 64 lowercase hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// SHA-1 of `data`, as 40 lowercase hex digits (for git's object ids and
// checksums, not for security).
std::string sha1_hex(std::string_view data);

// SHA-256 of `data`, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

// A random (version 4) UUID from the system's cryptographic random source:
// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lowercase.
std::string random_uuid();

// The UUID whose bytes are the first 16 of SHA-256(`name`) (version 8,
// RFC 9562's custom format): the same `name` always gives the same id.
std::string name_uuid(std::string_view name);

} // namespace envflow::util
