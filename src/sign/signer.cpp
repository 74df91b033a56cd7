#include "sign/signer.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"

namespace envflow::sign {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_pgp_begin = "-----BEGIN PGP SIGNATURE-----";
constexpr std::string_view k_ssh_begin = "-----BEGIN SSH SIGNATURE-----";

// A private temporary folder, removed with its contents when destroyed.
class TempDir {
public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/envflow-sign.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw util::IoError("cannot create a temporary folder in " + pattern);
    }
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, std::string_view data) const {
    const std::string path = m_path + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) {
      throw util::IoError("cannot write " + path);
    }
    return path;
  }
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

std::string first_line(const std::string& text) {
  const std::string trimmed(util::trim(text));
  const size_t newline = trimmed.find('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(0, newline);
}

std::string expand_home(const std::string& path) {
  if (util::starts_with(path, "~/")) {
    if (const char* home = std::getenv("HOME")) {
      return std::string(home) + path.substr(1);
    }
  }
  return path;
}

Verification verify_ssh(const std::string& allowed, std::string_view payload,
                        std::string_view signature) {
  TempDir dir;
  const std::string allowed_path = dir.write("allowed_signers", allowed);
  const std::string sig_path = dir.write("payload.sig", signature);
  Verification result;
  const auto principals = util::run_process(
      {"ssh-keygen", "-Y", "find-principals", "-s", sig_path, "-f", allowed_path});
  if (principals.exit_code != 0 || util::trim(principals.out).empty()) {
    result.detail = "the signing key is not among the allowed signers";
    return result;
  }
  const std::string principal = first_line(principals.out);
  const auto check = util::run_process({"ssh-keygen", "-Y", "verify", "-f", allowed_path, "-I",
                                        principal, "-n", "git", "-s", sig_path},
                                       std::string(payload));
  result.signer = principal;
  result.good = check.exit_code == 0;
  result.detail = first_line(check.out + check.err);
  if (!result.good && result.detail.empty()) {
    result.detail = "bad signature";
  }
  return result;
}

Verification verify_openpgp(const std::string& keyring, std::string_view payload,
                            std::string_view signature) {
  TempDir dir;
  const std::string home = dir.path() + "/gnupg";
  fs::create_directories(home);
  fs::permissions(home, fs::perms::owner_all);
  const std::string keys = dir.write("keys.asc", keyring);
  const std::string sig_path = dir.write("payload.sig", signature);
  const std::string data_path = dir.write("payload", payload);
  Verification result;
  const auto import = util::run_process(
      {"gpg", "--homedir", home, "--batch", "--quiet", "--import", keys});
  if (import.exit_code != 0) {
    result.detail = "the policy's keyring cannot be read: " + first_line(import.err);
    util::run_process({"gpgconf", "--homedir", home, "--kill", "gpg-agent"});
    return result;
  }
  const auto check = util::run_process({"gpg", "--homedir", home, "--batch", "--status-fd", "1",
                                        "--verify", sig_path, data_path});
  util::run_process({"gpgconf", "--homedir", home, "--kill", "gpg-agent"});
  for (const auto& line : util::split(check.out, '\n')) {
    const auto parts = util::split(line, ' ');
    if (parts.size() >= 3 && parts[0] == "[GNUPG:]" && parts[1] == "VALIDSIG") {
      result.signer = parts.size() >= 12 ? parts[11] : parts[2];
      result.good = true;
    }
    if (parts.size() >= 2 && parts[0] == "[GNUPG:]" &&
        (parts[1] == "BADSIG" || parts[1] == "ERRSIG" || parts[1] == "NO_PUBKEY")) {
      result.good = false;
      result.detail = parts[1] == "BADSIG" ? "bad signature (the data or signature was altered)"
                                           : "the signing key is not in the policy's keyring";
      return result;
    }
  }
  if (!result.good && result.detail.empty()) {
    result.detail = "signature not verified: " + first_line(check.err);
  }
  return result;
}

} // namespace

Format parse_format(const std::string& text) {
  if (text == "openpgp" || text.empty()) {
    return Format::openpgp;
  }
  if (text == "ssh") {
    return Format::ssh;
  }
  throw util::UsageError("signature format '" + text + "' is not supported (openpgp or ssh)");
}

std::string format_name(Format format) { return format == Format::ssh ? "ssh" : "openpgp"; }

std::string sign(const SigningConfig& config, std::string_view payload) {
  if (config.key.empty()) {
    throw util::Refused("no signing key: set git config user.signingKey (and gpg.format), or "
                        "release.signing_key in envflow.yaml");
  }
  util::ProcessResult result;
  if (config.format == Format::ssh) {
    const std::string program = config.program.empty() ? "ssh-keygen" : config.program;
    TempDir dir;
    const std::string data = dir.write("payload", payload);
    std::string key = expand_home(config.key);
    if (util::starts_with(key, "key::")) {
      key = dir.write("key.pub", key.substr(5) + "\n");
    }
    std::vector<std::string> argv{program, "-Y", "sign", "-n", "git", "-f", key};
    if (util::ends_with(key, ".pub")) {
      argv.insert(argv.begin() + 1, "-U"); // the private half is in the agent
    }
    argv.push_back(data);
    result = util::run_process(argv);
    if (result.exit_code != 0) {
      throw util::Refused("ssh signing failed: " + std::string(util::trim(result.err)));
    }
    std::ifstream in(data + ".sig", std::ios::binary);
    std::string signature((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (signature.empty()) {
      throw util::Refused("ssh signing produced no signature");
    }
    if (signature.back() != '\n') {
      signature += '\n';
    }
    return signature;
  }
  const std::string program = config.program.empty() ? "gpg" : config.program;
  result = util::run_process({program, "--status-fd=2", "-bsau", config.key},
                             std::string(payload));
  if (result.exit_code != 0 || result.out.find(k_pgp_begin) == std::string::npos) {
    throw util::Refused("gpg signing with key " + config.key +
                        " failed: " + std::string(util::trim(result.err)));
  }
  return result.out.back() == '\n' ? result.out : result.out + "\n";
}

Verification verify(Format format, const std::string& trusted, std::string_view payload,
                    std::string_view signature) {
  return format == Format::ssh ? verify_ssh(trusted, payload, signature)
                               : verify_openpgp(trusted, payload, signature);
}

bool split_signature(std::string_view buffer, std::string& payload, std::string& signature,
                     Format& format) {
  // The signature is the last block: look at line starts from the end (a
  // search for the marker at every byte costs more than the rest of reading
  // a tag that carries a manifest of 10,000 items).
  for (size_t end = buffer.size(); end > 0;) {
    const size_t newline = buffer.rfind('\n', end - 1);
    const size_t start = newline == std::string_view::npos ? 0 : newline + 1;
    const std::string_view line = buffer.substr(start);
    for (const auto& [marker, kind] : {std::pair{k_pgp_begin, Format::openpgp},
                                       std::pair{k_ssh_begin, Format::ssh}}) {
      if (line.substr(0, std::string_view(marker).size()) == marker) {
        payload = std::string(buffer.substr(0, start));
        signature = std::string(buffer.substr(start));
        format = kind;
        return true;
      }
    }
    if (newline == std::string_view::npos) {
      break;
    }
    end = newline;
  }
  return false;
}

} // namespace envflow::sign
