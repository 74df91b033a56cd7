#include "core/model/view.h"

#include <algorithm>

#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"

namespace envflow::core::model {

namespace {

constexpr std::string_view k_remote_root = "refs/envflow-remote/";

} // namespace

std::optional<std::string> OwnRefs::target(const std::string& ref) const {
  return m_repo.ref_target(ref);
}

std::vector<std::string> OwnRefs::names(const std::string& prefix) const {
  std::vector<std::string> out;
  for (auto& name : m_repo.list_refs(prefix + "*")) {
    if (util::starts_with(name, prefix)) {
      out.push_back(std::move(name));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

MovedRefs::MovedRefs(const RefView& base, const std::vector<RefMove>& moves) : m_base(base) {
  for (const auto& move : moves) {
    m_moved[move.ref] =
        is_zero(move.new_id) ? std::nullopt : std::optional<std::string>(move.new_id);
  }
}

std::optional<std::string> MovedRefs::target(const std::string& ref) const {
  if (const auto it = m_moved.find(ref); it != m_moved.end()) {
    return it->second;
  }
  return m_base.target(ref);
}

std::vector<std::string> MovedRefs::names(const std::string& prefix) const {
  std::vector<std::string> out;
  for (auto& name : m_base.names(prefix)) {
    if (!m_moved.contains(name)) {
      out.push_back(std::move(name));
    }
  }
  for (const auto& [name, value] : m_moved) {
    if (value && util::starts_with(name, prefix)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

RemoteRefs::RemoteRefs(const git::Repository& repo, std::string remote,
                       std::vector<std::string> pending)
    : m_repo(repo), m_remote(std::move(remote)), m_pending(std::move(pending)) {
  std::sort(m_pending.begin(), m_pending.end());
}

std::string RemoteRefs::tracking_name(const std::string& remote, const std::string& ref) {
  if (util::starts_with(ref, k_heads_prefix)) {
    return "refs/remotes/" + remote + "/" + ref.substr(k_heads_prefix.size());
  }
  if (util::starts_with(ref, k_envflow_prefix) || util::starts_with(ref, k_tags_prefix)) {
    return std::string(k_remote_root) + remote + "/" + ref.substr(std::string_view("refs/").size());
  }
  return {};
}

std::optional<std::string> RemoteRefs::target(const std::string& ref) const {
  if (std::binary_search(m_pending.begin(), m_pending.end(), ref)) {
    return m_repo.ref_target(ref);
  }
  const std::string tracking = tracking_name(m_remote, ref);
  if (tracking.empty()) {
    return m_repo.ref_target(ref);
  }
  return m_repo.ref_target(tracking);
}

std::vector<std::string> RemoteRefs::names(const std::string& prefix) const {
  std::vector<std::string> out;
  const std::string tracking = tracking_name(m_remote, prefix);
  if (tracking.empty()) {
    throw util::IoError("cannot list " + prefix + "* through the view of " + m_remote);
  }
  for (const auto& name : m_repo.list_refs(tracking + "*")) {
    if (!util::starts_with(name, tracking)) {
      continue;
    }
    std::string logical = prefix + name.substr(tracking.size());
    if (!std::binary_search(m_pending.begin(), m_pending.end(), logical)) {
      out.push_back(std::move(logical));
    }
  }
  for (const auto& name : m_pending) {
    if (util::starts_with(name, prefix) && m_repo.ref_target(name)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> Pipeline::head(const policy::Environment& env) const {
  return refs.target(branch_ref(env));
}

std::string Pipeline::require_head(const policy::Environment& env) const {
  if (auto id = head(env)) {
    return *id;
  }
  throw util::Refused("branch '" + env.branch + "' of environment " + env.name +
                      " does not exist; run envflow doctor");
}

std::optional<std::string> Pipeline::live() const { return refs.target(k_live_ref); }

} // namespace envflow::core::model
