#include "core/model/refs.h"

#include <algorithm>

#include "core/policy/config.h"
#include "util/strings.h"

namespace envflow::core::model {

namespace {

bool is_hex(std::string_view text, size_t size) {
  return text.size() == size && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool plain_component_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '+' || c == '@';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

} // namespace

std::string branch_ref(const policy::Environment& env) {
  return std::string(k_heads_prefix) + env.branch;
}

std::string tag_ref(std::string_view name) { return std::string(k_tags_prefix) + std::string(name); }

std::string local_ref(std::string_view env) { return k_local_ref_prefix + std::string(env); }

bool is_release_tag_name(std::string_view name) {
  if (!name.starts_with("v")) {
    return false;
  }
  const auto parts = util::split(name.substr(1), '.');
  if (parts.size() != 3) {
    return false;
  }
  return std::all_of(parts.begin(), parts.end(), [](const std::string& part) {
    return !part.empty() && part.size() <= 9 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           (part.size() == 1 || part[0] != '0');
  });
}

bool is_zero(std::string_view id) {
  return id.empty() || std::all_of(id.begin(), id.end(), [](char c) { return c == '0'; });
}

bool is_object_id(std::string_view text) {
  return text.size() == 40 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string short_id(std::string_view id) {
  return is_zero(id) ? std::string("(none)") : std::string(id.substr(0, 7));
}

std::string short_rev(std::string_view rev) {
  return is_object_id(rev) ? short_id(rev) : std::string(rev);
}

std::string encode_component(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    if (plain_component_char(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0xF];
    }
  }
  // "@" alone is git's name for HEAD; "@{" cannot occur ("{" is encoded).
  return out == "@" ? "%40" : out;
}

std::optional<std::string> decode_component(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      const char decoded = static_cast<char>(high * 16 + low);
      if (plain_component_char(decoded) && !(decoded == '@' && text == "%40")) {
        return std::nullopt; // encode_component never writes this: one name, one spelling
      }
      out += decoded;
      i += 2;
    } else if (plain_component_char(c)) {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  if (out.empty() || text == "@") {
    return std::nullopt;
  }
  return out;
}

std::string approval_ref(std::string_view env, std::string_view commit, std::string_view person) {
  return approvals_prefix(env, commit) + encode_component(person);
}

std::string approvals_prefix(std::string_view env, std::string_view commit) {
  return k_approvals_prefix + std::string(env) + "/" + std::string(commit) + "/";
}

std::string hold_ref(std::string_view env, std::string_view id) {
  return holds_prefix(env) + std::string(id);
}

std::string holds_prefix(std::string_view env) { return k_holds_prefix + std::string(env) + "/"; }

std::string check_ref(std::string_view env, std::string_view commit, std::string_view check) {
  return checks_prefix(env, commit) + std::string(check);
}

std::string checks_prefix(std::string_view env, std::string_view commit) {
  return k_checks_prefix + std::string(env) + "/" + std::string(commit) + "/";
}

bool is_check_name(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    (i > 0 && (c == '-' || c == '_'));
    if (!ok) {
      return false;
    }
  }
  return true;
}

ClassifiedRef classify_ref(const policy::PipelineConfig& config, const std::string& ref) {
  ClassifiedRef c;
  if (util::starts_with(ref, k_heads_prefix)) {
    const std::string branch = ref.substr(k_heads_prefix.size());
    if (const policy::Environment* env = config.by_branch(branch)) {
      c.kind = RefKind::environment;
      c.env = env->name;
      c.env_index = config.index_of(env->name);
    } else if (util::starts_with(branch, k_hotfix_branch_prefix)) {
      c.kind = RefKind::hotfix_branch;
      c.name = branch.substr(std::string_view(k_hotfix_branch_prefix).size());
    }
    return c;
  }
  if (util::starts_with(ref, k_tags_prefix)) {
    c.name = ref.substr(k_tags_prefix.size());
    if (is_release_tag_name(c.name)) {
      c.kind = RefKind::release_tag;
    }
    return c;
  }
  if (!util::starts_with(ref, k_envflow_prefix)) {
    return c;
  }
  if (ref == k_live_ref) {
    c.kind = RefKind::live;
  } else if (ref == k_config_ref) {
    c.kind = RefKind::config;
  } else if (ref == k_audit_ref) {
    c.kind = RefKind::audit;
  } else if (ref == k_backports_ref) {
    c.kind = RefKind::backports;
  } else if (util::starts_with(ref, k_local_ref_prefix)) {
    c.kind = RefKind::local;
    c.env = ref.substr(std::string_view(k_local_ref_prefix).size());
    c.env_index = config.index_of(c.env);
  } else if (util::starts_with(ref, k_approvals_prefix)) {
    const auto parts = util::split(ref.substr(std::string_view(k_approvals_prefix).size()), '/');
    c.kind = RefKind::envflow_other;
    if (parts.size() == 3 && is_hex(parts[1], 40)) {
      if (const auto person = decode_component(parts[2])) {
        c.kind = RefKind::approval;
        c.env = parts[0];
        c.env_index = config.index_of(c.env);
        c.commit = parts[1];
        c.name = *person;
      }
    }
  } else if (util::starts_with(ref, k_holds_prefix)) {
    const auto parts = util::split(ref.substr(std::string_view(k_holds_prefix).size()), '/');
    c.kind = RefKind::envflow_other;
    if (parts.size() == 2 && is_hex(parts[1], 40)) {
      c.kind = RefKind::hold;
      c.env = parts[0];
      c.env_index = config.index_of(c.env);
      c.name = parts[1];
    }
  } else if (util::starts_with(ref, k_checks_prefix)) {
    const auto parts = util::split(ref.substr(std::string_view(k_checks_prefix).size()), '/');
    c.kind = RefKind::envflow_other;
    if (parts.size() == 3 && is_hex(parts[1], 40) && is_check_name(parts[2])) {
      c.kind = RefKind::check;
      c.env = parts[0];
      c.env_index = config.index_of(c.env);
      c.commit = parts[1];
      c.name = parts[2];
    }
  } else {
    c.kind = RefKind::envflow_other;
  }
  return c;
}

} // namespace envflow::core::model
