#pragma once

#include <string>
#include <string_view>

// Signatures the way git makes and checks them, through the same programs
// (gpg, ssh-keygen), so stock `git verify-tag` accepts what envflow signs.
namespace envflow::sign {

enum class Format { openpgp, ssh };

struct SigningConfig {
  Format format = Format::openpgp;
  std::string key;     // gpg: key id / fingerprint / email; ssh: path of the private (or public, with an agent) key
  std::string program; // "" = "gpg" / "ssh-keygen"
};

// "openpgp" / "ssh" (git's gpg.format values); throws util::UsageError otherwise.
Format parse_format(const std::string& text);
std::string format_name(Format format);

// An armored detached signature of `payload`, newline-terminated.
// Throws util::Refused with the signer's own message when signing fails.
std::string sign(const SigningConfig& config, std::string_view payload);

struct Verification {
  bool good = false;
  std::string signer; // ssh: the principal; gpg: the primary key fingerprint
  std::string detail; // why not good, or what the verifier said
};

// Check `signature` over `payload` against `trusted`: for ssh the contents
// of an allowed-signers file; for openpgp an armored public keyring (only
// its keys count: a good signature by any other key is not good).
Verification verify(Format format, const std::string& trusted, std::string_view payload,
                    std::string_view signature);

// Split a signed tag or commit buffer into the signed part and the signature
// (the trailing PGP or SSH signature block). Returns false when unsigned.
bool split_signature(std::string_view buffer, std::string& payload, std::string& signature,
                     Format& format);

} // namespace envflow::sign
