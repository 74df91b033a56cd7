#include "core/policy/event_policy.h"

#include <algorithm>
#include <cctype>

#include "content/secrets.h"
#include "util/strings.h"

namespace envflow::core::policy {

using content::Value;

namespace {

// Words that make a query parameter a credential: `?token=…`, `?api_key=…`.
constexpr std::string_view k_credential_words[] = {"token", "secret", "password", "passwd",
                                                   "key",   "sig",    "auth",     "credential"};

// Why `url` is no usable receiver URL, or "" when it is one. The schema has
// already checked the scheme and that it is printable ASCII without spaces.
std::string url_problem(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const size_t start = scheme_end + 3;
  const size_t end = std::min(url.find_first_of("/?#", start), url.size());
  const std::string authority = url.substr(start, end - start);
  if (authority.find('@') != std::string::npos) {
    return "the URL carries a user or password, and envflow.yaml is in git for every clone to "
           "read; drop it from the URL, and have the receiver check the signature made with the "
           "key in secret_env instead";
  }
  std::string host = authority;
  std::string port;
  if (host.starts_with("[")) {
    const size_t close = host.find(']');
    if (close == std::string::npos) {
      return "the URL's IPv6 address lacks its closing ']'";
    }
    port = host.substr(close + 1);
    host = host.substr(0, close + 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (host.empty() || host == "[]") {
    return "the URL names no host; write it as http://HOST[:PORT]/PATH";
  }
  if (!port.empty()) {
    const std::string digits = port.substr(1);
    if (port[0] != ':' || digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(digits) < 1 || std::stoi(digits) > 65535) {
      return "the URL's port '" + port.substr(port[0] == ':' ? 1 : 0) +
             "' is not a number from 1 to 65535";
    }
  }
  if (const size_t query = url.find('?'); query != std::string::npos) {
    const std::string rest = url.substr(query + 1, url.find('#', query) - query - 1);
    for (const std::string& pair : util::split(rest, '&')) {
      const std::string name = util::to_lower(pair.substr(0, pair.find('=')));
      for (const std::string_view word : k_credential_words) {
        if (name.find(word) != std::string::npos) {
          return "the URL's query parameter '" + pair.substr(0, pair.find('=')) +
                 "' looks like a credential, and envflow.yaml is in git for every clone to "
                 "read; use a URL without it, and have the receiver check the signature made "
                 "with the key in secret_env instead";
        }
      }
    }
  }
  return {};
}

// True when `text`, found where a variable's name belongs, looks like the
// secret itself: a known token format, or a long mix of lower case, upper
// case and digits that variable names (FOO_BAR_SECRET) never are.
bool looks_like_secret(const Value& node) {
  Value holder;
  holder.type = Value::Type::mapping;
  holder.members.push_back(content::Entry{"value", node.mark, node});
  if (!content::scan_secrets(holder, "-").empty()) {
    return true;
  }
  const std::string& text = node.string;
  const auto has = [&](int (*test)(int)) {
    return std::any_of(text.begin(), text.end(),
                       [&](char c) { return test(static_cast<unsigned char>(c)) != 0; });
  };
  return text.size() >= 16 && has(islower) && has(isupper) && has(isdigit) &&
         content::shannon_entropy(text) >= 3.5;
}

} // namespace

bool EventReceiver::wants(std::string_view type) const {
  return on.empty() || std::find(on.begin(), on.end(), type) != on.end();
}

EventPolicy parse_event_policy(const Value& root, const std::string& path,
                               std::vector<content::Diagnostic>& problems) {
  const auto problem = [&](const std::string& message, content::Mark mark) {
    problems.push_back(
        content::Diagnostic{path, mark, content::Severity::error, message, "pipeline"});
  };
  EventPolicy policy;
  if (const Value* timeout = root.find("events_timeout");
      timeout != nullptr && timeout->type == Value::Type::integer) {
    policy.timeout_seconds = static_cast<int>(std::clamp<std::int64_t>(
        timeout->integer, k_events_timeout_min, k_events_timeout_max));
  }
  const Value* list = root.find("events");
  if (list == nullptr || !list->is_sequence()) {
    return policy;
  }
  for (const Value& item : list->items) {
    EventReceiver receiver;
    receiver.url = item.string_at("url");
    receiver.secret_env = item.string_at("secret_env");
    if (const Value* on = item.find("on"); on != nullptr && on->is_sequence()) {
      for (const Value& type : on->items) {
        receiver.on.push_back(type.string);
      }
    }
    const Value* url = item.find("url");
    const Value* name = item.find("secret_env");
    if (url == nullptr || name == nullptr) {
      continue; // the schema has said so already
    }
    if (const std::string why = url_problem(receiver.url); !why.empty()) {
      problem("events: " + why, url->mark);
    } else if (looks_like_secret(*url)) {
      problem("events: the URL looks like it holds a credential (a token), and envflow.yaml is "
              "in git for every clone to read; use a URL without it, and have the receiver "
              "check the signature made with the key in secret_env instead",
              url->mark);
    }
    for (const EventReceiver& earlier : policy.receivers) {
      if (earlier.url == receiver.url) {
        problem("events: receiver " + receiver.url +
                    " is listed twice; list it once, with every event type it takes under 'on'",
                url->mark);
        break;
      }
    }
    if (looks_like_secret(*name)) {
      problem("events: secret_env must name an environment variable (such as "
              "ENVFLOW_HOOK_SECRET), but this looks like a secret itself, now in git for every "
              "clone to read; replace the key, set it in that variable, and write the "
              "variable's name here",
              name->mark);
    }
    policy.receivers.push_back(std::move(receiver));
  }
  return policy;
}

void write_event_policy(content::YamlWriter& out, const EventPolicy& policy) {
  if (!policy.receivers.empty()) {
    out.blank_line();
    out.comment("Receivers of signed events (docs/events.md). The HMAC key of each comes\n"
                "from the environment variable secret_env names, never from git.");
    out.key("events").begin_seq();
    for (const EventReceiver& receiver : policy.receivers) {
      out.begin_map();
      out.key("url").string(receiver.url, content::Quote::always);
      out.key("secret_env").string(receiver.secret_env);
      if (!receiver.on.empty()) {
        out.key("on").strings(receiver.on);
      }
      out.end_map();
    }
    out.end_seq();
  }
  if (policy.timeout_seconds != k_events_timeout_default) {
    out.blank_line();
    out.comment("Seconds all receivers of one operation get together, retries included.");
    out.key("events_timeout").integer(policy.timeout_seconds);
  }
}

} // namespace envflow::core::policy
