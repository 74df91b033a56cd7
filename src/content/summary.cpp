#include "content/summary.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>

#include "util/crypto.h"

namespace envflow::content {

namespace {

// Bump when the encoding changes; old bytes then decode to nullopt.
constexpr std::uint8_t k_format = 3;

// Strings most summaries repeat (kinds, rules), written as a small number.
constexpr std::string_view k_common[] = {
    "Agent",        "Workflow",      "Integration",   "KnowledgeBase",     "Channel",
    "Variable",     "ref-agent",     "ref-workflow",  "ref-integration",   "ref-knowledge",
    "ref-channel",  "ref-endpoint",  "ref-document",  "ref-variable",      "ref-step",
    "schema",       "secret-literal", "secret-reference", "duplicate-step-id", "name-mismatch",
};

class Writer {
public:
  void byte(std::uint8_t value) { m_out.push_back(static_cast<char>(value)); }

  void number(std::uint64_t value) {
    while (value >= 0x80) {
      byte(static_cast<std::uint8_t>(value | 0x80));
      value >>= 7;
    }
    byte(static_cast<std::uint8_t>(value));
  }

  void text(std::string_view value) {
    number(value.size());
    m_out.append(value);
  }

  // A string of k_common as 2 * index + 1, any other as 2 * size and its bytes.
  void token(std::string_view value) {
    for (std::size_t i = 0; i < std::size(k_common); ++i) {
      if (k_common[i] == value) {
        number(2 * i + 1);
        return;
      }
    }
    number(2 * value.size());
    m_out.append(value);
  }

  void mark(Mark value) {
    number(static_cast<std::uint32_t>(value.line));
    number(static_cast<std::uint32_t>(value.column));
  }

  std::string take() { return std::move(m_out); }

private:
  std::string m_out;
};

// Reads what Writer wrote; any overrun or absurd count clears ok().
class Reader {
public:
  explicit Reader(std::string_view in) : m_in(in) {}

  bool ok() const { return m_ok; }
  bool done() const { return m_pos == m_in.size(); }

  std::uint8_t byte() {
    if (m_pos >= m_in.size()) {
      m_ok = false;
      return 0;
    }
    return static_cast<std::uint8_t>(m_in[m_pos++]);
  }

  std::uint64_t number() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0 || !m_ok) {
        return value;
      }
    }
    m_ok = false;
    return 0;
  }

  // A count of items that take at least one byte each.
  std::size_t count() {
    const std::uint64_t n = number();
    if (n > m_in.size() - std::min(m_pos, m_in.size())) {
      m_ok = false;
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

  std::string_view view() {
    const std::uint64_t n = number();
    if (!m_ok || n > m_in.size() - m_pos) {
      m_ok = false;
      return {};
    }
    const std::string_view value = m_in.substr(m_pos, static_cast<std::size_t>(n));
    m_pos += static_cast<std::size_t>(n);
    return value;
  }

  std::string text() { return std::string(view()); }

  std::string_view token_view() {
    const std::uint64_t n = number();
    if (!m_ok) {
      return {};
    }
    if (n % 2 == 1) {
      const std::uint64_t index = n / 2;
      if (index >= std::size(k_common)) {
        m_ok = false;
        return {};
      }
      return k_common[index];
    }
    if (n / 2 > m_in.size() - m_pos) {
      m_ok = false;
      return {};
    }
    const std::string_view value = m_in.substr(m_pos, static_cast<std::size_t>(n / 2));
    m_pos += static_cast<std::size_t>(n / 2);
    return value;
  }

  std::string token() { return std::string(token_view()); }

  Mark mark() {
    Mark value;
    value.line = static_cast<int>(static_cast<std::uint32_t>(number()));
    value.column = static_cast<int>(static_cast<std::uint32_t>(number()));
    return value;
  }

private:
  std::string_view m_in;
  std::size_t m_pos = 0;
  bool m_ok = true;
};

// Paths equal to the file's own are stored as "".
std::string_view relative_path(const std::string& value, const std::string& path) {
  return value == path ? std::string_view() : std::string_view(value);
}

// SHA-1 (FIPS 180-4), enough for content keys; git uses the same function.
class Sha1 {
public:
  void update(std::string_view data) {
    m_length += data.size();
    while (!data.empty()) {
      const std::size_t take = std::min(data.size(), m_block.size() - m_used);
      std::memcpy(m_block.data() + m_used, data.data(), take);
      m_used += take;
      data.remove_prefix(take);
      if (m_used == m_block.size()) {
        compress();
        m_used = 0;
      }
    }
  }

  std::string hex() {
    const std::uint64_t bits = m_length * 8;
    const char pad = static_cast<char>(0x80);
    update(std::string_view(&pad, 1));
    const char zero = 0;
    while (m_used != 56) {
      update(std::string_view(&zero, 1));
    }
    for (int i = 7; i >= 0; --i) {
      const char b = static_cast<char>((bits >> (i * 8)) & 0xff);
      update(std::string_view(&b, 1));
    }
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(40);
    for (const std::uint32_t word : m_state) {
      for (int i = 28; i >= 0; i -= 4) {
        out.push_back(k_digits[(word >> i) & 0xf]);
      }
    }
    return out;
  }

private:
  static std::uint32_t rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

  // One 64-byte block. The message schedule is kept as a ring of 16 words
  // and the rounds are unrolled by five, so the working variables rotate by
  // renaming instead of moving: about twice the speed of the textbook loop
  // (the working tree is hashed file by file on every `envflow validate`).
  void compress() {
    std::uint32_t w[16];
    for (int i = 0; i < 16; ++i) {
      w[i] = (std::uint32_t{m_block[i * 4]} << 24) | (std::uint32_t{m_block[i * 4 + 1]} << 16) |
             (std::uint32_t{m_block[i * 4 + 2]} << 8) | std::uint32_t{m_block[i * 4 + 3]};
    }
    const auto schedule = [&w](int i) {
      if (i >= 16) {
        w[i & 15] = rotl(w[(i - 3) & 15] ^ w[(i - 8) & 15] ^ w[(i - 14) & 15] ^ w[i & 15], 1);
      }
      return w[i & 15];
    };
    std::uint32_t a = m_state[0], b = m_state[1], c = m_state[2], d = m_state[3], e = m_state[4];
    const auto round = [&](std::uint32_t& v, std::uint32_t& x, std::uint32_t& y, std::uint32_t& z,
                           std::uint32_t& u, int i) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (i < 20) {
        f = (x & y) | (~x & z);
        k = 0x5a827999;
      } else if (i < 40) {
        f = x ^ y ^ z;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (x & y) | (x & z) | (y & z);
        k = 0x8f1bbcdc;
      } else {
        f = x ^ y ^ z;
        k = 0xca62c1d6;
      }
      u += rotl(v, 5) + f + k + schedule(i);
      x = rotl(x, 30);
    };
    for (int i = 0; i < 80; i += 5) {
      round(a, b, c, d, e, i);
      round(e, a, b, c, d, i + 1);
      round(d, e, a, b, c, i + 2);
      round(c, d, e, a, b, i + 3);
      round(b, c, d, e, a, i + 4);
    }
    m_state[0] += a;
    m_state[1] += b;
    m_state[2] += c;
    m_state[3] += d;
    m_state[4] += e;
  }

  std::array<std::uint32_t, 5> m_state{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
                                       0xc3d2e1f0};
  std::array<std::uint8_t, 64> m_block{};
  std::size_t m_used = 0;
  std::uint64_t m_length = 0;
};

} // namespace

std::string encode(const FileSummary& summary, const std::string& path) {
  Writer out;
  out.byte(k_format);
  out.number(summary.diagnostics.size());
  for (const Diagnostic& d : summary.diagnostics) {
    out.text(relative_path(d.path, path));
    out.mark(d.mark);
    out.byte(d.severity == Severity::error ? 0 : 1);
    out.text(d.message);
    out.token(d.rule);
    out.text(d.fingerprint);
  }
  out.byte(summary.document ? 1 : 0);
  if (summary.document) {
    const DocumentSummary& doc = *summary.document;
    out.text(relative_path(doc.path, path));
    out.token(doc.kind);
    out.text(doc.name);
    out.text(doc.variable_type);
    out.number(doc.endpoints.size());
    for (const auto& endpoint : doc.endpoints) {
      out.text(endpoint);
    }
    out.number(doc.checks.size());
    for (const ReferenceCheck& check : doc.checks) {
      out.byte(static_cast<std::uint8_t>(check.type));
      out.byte(check.promoted_only ? 1 : 0);
      out.mark(check.mark);
      out.token(check.target);
      out.text(check.name);
      out.text(check.where);
      out.token(check.rule);
    }
  }
  return out.take();
}

std::optional<FileSummary> decode(std::string_view bytes, const std::string& path, Part part) {
  Reader in(bytes);
  if (in.byte() != k_format) {
    return std::nullopt;
  }
  const auto absolute = [&](std::string value) { return value.empty() ? path : value; };
  FileSummary summary;
  const std::size_t diagnostics = in.count();
  summary.diagnostics.reserve(diagnostics);
  for (std::size_t i = 0; i < diagnostics && in.ok(); ++i) {
    Diagnostic d;
    d.path = absolute(in.text());
    d.mark = in.mark();
    const std::uint8_t severity = in.byte();
    if (severity > 1) {
      return std::nullopt;
    }
    d.severity = severity == 0 ? Severity::error : Severity::warning;
    d.message = in.text();
    d.rule = in.token();
    d.fingerprint = in.text();
    summary.diagnostics.push_back(std::move(d));
  }
  const std::uint8_t has_document = in.byte();
  if (has_document > 1) {
    return std::nullopt;
  }
  if (has_document == 1) {
    DocumentSummary doc;
    doc.path = absolute(in.text());
    doc.kind = in.token();
    doc.name = in.text();
    doc.variable_type = in.text();
    const std::size_t endpoints = in.count();
    for (std::size_t i = 0; i < endpoints && in.ok(); ++i) {
      doc.endpoints.push_back(in.text());
    }
    const std::size_t checks = in.count();
    if (part == Part::all) {
      doc.checks.reserve(checks);
    }
    for (std::size_t i = 0; i < checks && in.ok(); ++i) {
      const std::uint8_t type = in.byte();
      const std::uint8_t promoted_only = in.byte();
      if (type > static_cast<std::uint8_t>(ReferenceCheck::Type::finding) || promoted_only > 1) {
        return std::nullopt;
      }
      if (part == Part::declarations) {
        in.mark();
        in.token_view();
        in.view();
        in.view();
        in.token_view();
        continue;
      }
      ReferenceCheck& check = doc.checks.emplace_back();
      check.type = static_cast<ReferenceCheck::Type>(type);
      check.promoted_only = promoted_only == 1;
      check.mark = in.mark();
      check.target = in.token();
      check.name = in.text();
      check.where = in.text();
      check.rule = in.token();
    }
    summary.document = std::move(doc);
  }
  if (!in.ok() || !in.done()) {
    return std::nullopt;
  }
  return summary;
}

std::string sha1_hex(std::string_view data) { return util::sha1_hex(data); }

std::string git_blob_id(std::string_view data) {
  Sha1 sha;
  const std::string header = "blob " + std::to_string(data.size());
  sha.update(header);
  sha.update(std::string_view("\0", 1));
  sha.update(data);
  return sha.hex();
}

} // namespace envflow::content
