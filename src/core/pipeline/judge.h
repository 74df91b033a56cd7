#pragma once

// The rulebook's judge: one object per judgement, its gates defined in
// rules.cpp (plumbing, dispatch), rules_environments.cpp (environment
// branches), rules_releases.cpp (release tags, live) and rules_records.cpp
// (environment-local data, policy, back-ports, approvals, holds, checks).
// Internal to pipeline/: everyone else asks pipeline::judge (rules.h).

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "content/kinds.h"
#include "content/schema.h"
#include "content/validator.h"
#include "core/pipeline/checks.h"
#include "core/pipeline/rules.h"
#include "core/records/approvals.h"
#include "core/records/backport.h"
#include "core/records/hold.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "core/workspace/diff.h"
#include "core/workspace/sources.h"
#include "core/workspace/workspace.h"
#include "git/repo.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::pipeline::judging {

// Diagnostics shown per refused commit; the rest are counted.
inline constexpr size_t k_max_diagnostics = 20;
// Commits listed when a move is not a fast-forward.
inline constexpr size_t k_listed_commits = 10;

using util::plural;

// How far a judgement goes: every gate, or only who may (judge_authority).
enum class Depth { full, authority };

class Judge {
public:
  Judge(const model::Pipeline& before, const std::vector<model::RefMove>& moves, const Actor& actor,
        Automatic automatic, Depth depth = Depth::full)
      : m_before(before), m_after_refs(before.refs, moves), m_after(before.through(m_after_refs)),
        m_config(before.config), m_repo(before.repo), m_moves(moves), m_actor(actor),
        m_person(actor.name.empty() ? std::string() : before.config.person(actor.name)),
        m_automatic(automatic), m_depth(depth) {}

  Judgement run() {
    for (const auto& move : m_moves) {
      if (move.old_id == move.new_id) {
        continue; // git names refs that do not move when a push lists them
      }
      try {
        judge(move);
      } catch (const util::Error& e) {
        refuse(move, Gate::fast_forward, std::string("cannot check it: ") + e.what());
      }
    }
    return std::move(m_out);
  }

private:
  // --- plumbing ---

  std::string who() const { return m_actor.describe(); }

  bool may(Right right, const std::string& env = "") const;

  // Identity gate: whether the pusher holds `right` (on `env`); else refuses
  // `move`: "<who> may not <doing> (<who_may>)<after>". False when refused.
  bool permitted(const model::RefMove& move, Right right, const std::string& env,
                 const std::string& doing, const std::string& who_may,
                 const std::string& after = "");

  // Whether the gates past who-may (content, overrides, checks, approvals,
  // holds, back-ports, signatures) are judged.
  bool authority_only() const { return m_depth == Depth::authority; }

  void refuse(const model::RefMove& move, Gate gate, std::string reason, std::string hint = {});

  void note(std::string text) { m_out.notes.push_back(std::move(text)); }

  bool is_commit(const std::string& id) const;

  bool contains(const std::optional<std::string>& head, const std::string& commit) const;

  const model::RefMove* move_of(const std::string& ref) const;

  // Deletion, non-commit and force-move checks of a ref that holds a
  // history. False when the move is refused.
  bool fast_forward(const model::RefMove& move, const std::string& what);

  // --- the dispatcher ---

  void judge(const model::RefMove& move);

  // --- content ---

  // Commits the move brings into `move.ref`: what the ref did not contain.
  std::vector<std::string> entering(const model::RefMove& move) const;

  static std::string diagnostics_text(const std::vector<const content::Diagnostic*>& shown,
                                      size_t total);

  // Content gate: the whole tree at the new tip validates, and so does
  // every commit entering the branch (the files it changes, and references
  // across its tree). A commit whose tree another commit shares is still
  // checked: each commit's own changes are what it is judged by.
  bool content_valid(const model::RefMove& move, const policy::Environment& env,
                     const std::vector<std::string>& commits);

  // Overrides gate: the environment's overrides (as they are after this
  // change) fit the variables the new tip declares.
  bool overrides_fit(const model::RefMove& move, const policy::Environment& env);

  // --- environment branches ---

  void judge_environment(const model::RefMove& move, size_t index);

  void judge_first(const model::RefMove& move, const policy::Environment& env);

  void judge_promotion(const model::RefMove& move, const policy::Environment& source,
                       const policy::Environment& target);

  // Checks gate: every check of the target passed for this commit and the
  // bundle it would give the target (results as they are after this change).
  bool checks_passed(const model::RefMove& move, const policy::Environment& target);

  // Back-port gate: nothing is promoted into the last environment while a
  // hotfix is not back in the first.
  bool backports_done(const model::RefMove& move, const policy::Environment& target);

  // Hotfix-undo gate: a promotion into the last environment must not quietly
  // put back a field a hotfix changed.
  bool hotfix_kept(const model::RefMove& move, const policy::Environment& target);

  // The last environment also takes hotfix commits: ones the previous
  // environment does not contain, by a hotfixer. Production normally
  // fast-forwards; after a rollback (its head ahead of live) a hotfix starts
  // from live, and production moves to it, dropping only commits the
  // previous environment still holds (they come back by promotion).
  void judge_hotfix(const model::RefMove& move, const policy::Environment& previous,
                    const policy::Environment& env);

  // --- releases ---

  // Publishers make every release; hotfixers the release of a hotfix: a
  // commit the previous environment does not hold (after this change), its
  // tag and live moved in the same change, as envflow hotfix finish does.
  bool is_hotfix_commit(const std::string& commit) const;

  // Identity refusal of a release move by someone who is neither a
  // publisher nor a hotfixer; false when refused.
  bool may_release_at_all(const model::RefMove& move, const std::string& what);

  // A hotfixer who is no publisher releases only a hotfix; false when refused.
  bool may_release(const model::RefMove& move, const std::string& tag, const std::string& commit);

  void judge_release_tag(const model::RefMove& move, const std::string& name);

  void judge_live(const model::RefMove& move);

  // Approvals gate: `approvals` (the pusher's own not counted) reach
  // `required` from `approvers`; else refuses `move`: "<subject> needs N
  // approvals from … (not counting …)<until>; it has …", with the approve
  // command for `env` as the hint. False when refused.
  bool approved(const model::RefMove& move, const std::string& subject, const std::string& until,
                const std::vector<std::string>& approvals, int required,
                const std::vector<std::string>& approvers, const std::string& env);

  // --- environment-local data ---

  void judge_local(const model::RefMove& move, const model::ClassifiedRef& c);

  // --- the policy ---

  void judge_config(const model::RefMove& move);

  // --- back-port issues ---

  std::map<std::string, git::TreeEntry> issue_files(const std::string& id) const;

  // refs/envflow/backports: fast-forward, and from anyone but an admin only
  // the changes envflow makes: a hotfixer opens an issue for hotfix commits on
  // the last environment; anyone closes an open issue once its hotfix
  // commits are all in the first environment. Admins may mend issues by hand.
  void judge_backports(const model::RefMove& move);

  // --- records of an environment that promotions go into ---

  // The environment an approval, hold or check result `c` is on. When it is
  // the first environment (nothing is promoted into it: "…, so <so>") or
  // names none ("there is no environment named '…' <to>"), refuses `move`
  // and returns null.
  const policy::Environment* promoted_env(const model::RefMove& move,
                                          const model::ClassifiedRef& c, const std::string& so,
                                          const std::string& to);

  // --- approvals ---

  void judge_approval(const model::RefMove& move, const model::ClassifiedRef& c);

  // --- holds ---

  void judge_hold(const model::RefMove& move, const model::ClassifiedRef& c);

  // --- check results ---

  // refs/envflow/checks/<env>/<commit>/<check>: a result envflow check
  // writes, recorded once by someone who may promote into the environment
  // and never moved; removed (to run a check again) by them or an admin.
  void judge_check(const model::RefMove& move, const model::ClassifiedRef& c);

  const model::Pipeline& m_before;
  model::MovedRefs m_after_refs;
  model::Pipeline m_after;
  const policy::PipelineConfig& m_config;
  const git::Repository& m_repo;
  const std::vector<model::RefMove>& m_moves;
  const Actor& m_actor;
  std::string m_person;
  Automatic m_automatic;
  Depth m_depth;
  Judgement m_out;
};

} // namespace envflow::core::pipeline::judging
