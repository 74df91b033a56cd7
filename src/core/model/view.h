#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model/audit.h"
#include "core/policy/config.h"

namespace envflow::content {
class ResultCache;
}

namespace envflow::git {
class Repository;
}

// Where the pipeline's refs are read from. Every decision reads refs by the
// names they have on the authority (refs/heads/test, refs/envflow/live, ...)
// through a RefView, so the same code judges the server's refs, a clone's
// view of its remote, and "the refs as a push would leave them"
// (docs/architecture.md, "Reading state").
namespace envflow::core::model {

class RefView {
public:
  RefView() = default;
  RefView(const RefView&) = delete;
  RefView& operator=(const RefView&) = delete;
  virtual ~RefView() = default;

  // The id `ref` points at (peeling nothing), nullopt when it does not exist.
  virtual std::optional<std::string> target(const std::string& ref) const = 0;
  // Full names of the refs whose names start with `prefix`, sorted.
  virtual std::vector<std::string> names(const std::string& prefix) const = 0;
};

// A repository's own refs: the authority's view of itself.
class OwnRefs : public RefView {
public:
  explicit OwnRefs(const git::Repository& repo) : m_repo(repo) {}
  std::optional<std::string> target(const std::string& ref) const override;
  std::vector<std::string> names(const std::string& prefix) const override;

private:
  const git::Repository& m_repo;
};

// `base` with `moves` applied: what a push or an operation would leave.
class MovedRefs : public RefView {
public:
  MovedRefs(const RefView& base, const std::vector<RefMove>& moves);
  std::optional<std::string> target(const std::string& ref) const override;
  std::vector<std::string> names(const std::string& prefix) const override;

private:
  const RefView& m_base;
  std::map<std::string, std::optional<std::string>> m_moved;
};

// A clone's view of its remote `remote`, as the last fetch left it:
// refs/heads/X at refs/remotes/<remote>/X, refs/envflow/X at
// refs/envflow-remote/<remote>/envflow/X, refs/tags/X at
// refs/envflow-remote/<remote>/tags/X; except the refs in `pending`
// (moved by operations made offline and not pushed yet), read from this
// clone's own refs of that name.
class RemoteRefs : public RefView {
public:
  RemoteRefs(const git::Repository& repo, std::string remote, std::vector<std::string> pending);
  std::optional<std::string> target(const std::string& ref) const override;
  std::vector<std::string> names(const std::string& prefix) const override;

  // Where this clone keeps `remote`'s ref `ref` ("" for refs outside the
  // namespaces envflow reads).
  static std::string tracking_name(const std::string& remote, const std::string& ref);

private:
  const git::Repository& m_repo;
  std::string m_remote;
  std::vector<std::string> m_pending; // sorted
};

// What every decision reads: objects from `repo`, refs through `refs`, the
// policy in force, and the cache kept of what is derived from objects.
struct Pipeline {
  const git::Repository& repo;
  const RefView& refs;
  const policy::PipelineConfig& config;
  // The cache of `repo` this run keeps (core/workspace/cache.h,
  // repository_cache), nullptr for none: validations reuse its results, and
  // facts remembered by object id (releases, back-port issues, semantic
  // diffs) are kept beside it only when there is one. Chosen by whoever
  // opened the repository (pipeline::SessionOptions::cache).
  content::ResultCache* cache;

  std::optional<std::string> head(const policy::Environment& env) const;
  // The head, or util::Refused naming the missing branch.
  std::string require_head(const policy::Environment& env) const;
  // The tag object refs/envflow/live points at.
  std::optional<std::string> live() const;
  // The same repository and policy read through `other`.
  Pipeline through(const RefView& other) const { return Pipeline{repo, other, config, cache}; }
};

} // namespace envflow::core::model
