#include "core/pipeline/rules.h"

#include "core/pipeline/judge.h"
#include "util/enum_names.h"

namespace envflow::core::pipeline::judging {

bool Judge::may(Right right, const std::string& env) const {
  return core::pipeline::may(m_config, m_person, right, env);
}

bool Judge::permitted(const model::RefMove& move, Right right, const std::string& env,
                      const std::string& doing, const std::string& who_may,
                      const std::string& after) {
  if (may(right, env)) {
    return true;
  }
  refuse(move, Gate::identity, who() + " may not " + doing + " (" + who_may + ")" + after);
  return false;
}

void Judge::refuse(const model::RefMove& move, Gate gate, std::string reason, std::string hint) {
  m_out.refusals.push_back(Refusal{move.ref, std::move(reason), gate, std::move(hint)});
}

bool Judge::is_commit(const std::string& id) const {
  try {
    m_repo.commit(id);
    return true;
  } catch (const util::Error&) {
    return false;
  }
}

bool Judge::contains(const std::optional<std::string>& head, const std::string& commit) const {
  return head && m_repo.is_ancestor(commit, *head);
}

const model::RefMove* Judge::move_of(const std::string& ref) const {
  for (const auto& m : m_moves) {
    if (m.ref == ref && m.old_id != m.new_id) {
      return &m;
    }
  }
  return nullptr;
}

bool Judge::fast_forward(const model::RefMove& move, const std::string& what) {
  if (model::is_zero(move.new_id)) {
    refuse(move, Gate::fast_forward, "deleting " + what + " is not allowed (" + move.ref + ")");
    return false;
  }
  if (!is_commit(move.new_id)) {
    refuse(move, Gate::fast_forward,
           model::short_id(move.new_id) + " is not a commit; " + what + " holds commits only");
    return false;
  }
  if (!model::is_zero(move.old_id) && !m_repo.is_ancestor(move.old_id, move.new_id)) {
    refuse(move, Gate::fast_forward,
           "not a fast-forward: " + what + " is at " + model::short_id(move.old_id) + ", which " +
               model::short_id(move.new_id) +
               " does not contain; it is never force-moved or rewound (fetch, rebase or merge, "
               "and push again)");
    return false;
  }
  return true;
}

void Judge::judge(const model::RefMove& move) {
  const model::ClassifiedRef c = model::classify_ref(m_config, move.ref);
  switch (c.kind) {
  case model::RefKind::environment:
    judge_environment(move, static_cast<size_t>(c.env_index));
    return;
  case model::RefKind::release_tag:
    judge_release_tag(move, c.name);
    return;
  case model::RefKind::live:
    judge_live(move);
    return;
  case model::RefKind::local:
    judge_local(move, c);
    return;
  case model::RefKind::config:
    judge_config(move);
    return;
  case model::RefKind::audit:
    refuse(move, Gate::record,
           "refs/envflow/audit is written by the server itself, one record for every accepted "
           "push: push the refs your operation moves (envflow push, or the command with --push), "
           "never the trail");
    return;
  case model::RefKind::backports:
    judge_backports(move);
    return;
  case model::RefKind::approval:
    judge_approval(move, c);
    return;
  case model::RefKind::hold:
    judge_hold(move, c);
    return;
  case model::RefKind::check:
    judge_check(move, c);
    return;
  case model::RefKind::envflow_other:
    if (move.ref == model::k_pending_ref) {
      refuse(move, Gate::record,
             "refs/envflow/pending is a clone's list of operations made offline; it never goes "
             "to the server: send them with envflow push");
      return;
    }
    if (!may(Right::admin)) {
      refuse(move, Gate::identity,
             "refs under refs/envflow/ belong to envflow; only admins (" +
                 policy::PipelineConfig::groups_text(m_config.admins) + ") may push " + move.ref +
                 ", and " + who() + " is not one");
    }
    return;
  case model::RefKind::hotfix_branch:
  case model::RefKind::other:
    return; // feature and hotfix branches, other tags, notes: not the pipeline's business
  }
}

std::vector<std::string> Judge::entering(const model::RefMove& move) const {
  if (!model::is_zero(move.old_id)) {
    return m_repo.commits_between(move.old_id, move.new_id);
  }
  std::vector<std::string> hidden;
  for (const auto& env : m_config.environments) {
    if (auto head = m_before.head(env)) {
      hidden.push_back(*head);
    }
  }
  return m_repo.commits_excluding(move.new_id, hidden);
}

std::string Judge::diagnostics_text(const std::vector<const content::Diagnostic*>& shown,
                                    size_t total) {
  std::string text;
  for (const auto* d : shown) {
    text += "\n  " + d->to_text();
  }
  if (total > shown.size()) {
    text += "\n  ... and " + std::to_string(total - shown.size()) + " more";
  }
  return text;
}

bool Judge::content_valid(const model::RefMove& move, const policy::Environment& env,
                          const std::vector<std::string>& commits) {
  const content::ValidateOptions options =
      workspace::options_for(m_config, m_before.cache, content::Scope::promoted);
  {
    workspace::TreeSource tip(m_repo, move.new_id);
    const content::ValidationReport report =
        content::validate(tip, options, content::SchemaSet::builtin());
    std::vector<const content::Diagnostic*> shown;
    size_t errors = 0;
    for (const auto& d : report.diagnostics) {
      if (d.severity == content::Severity::error && ++errors <= k_max_diagnostics) {
        shown.push_back(&d);
      }
    }
    if (errors > 0) {
      refuse(move, Gate::content,
             "the content of " + model::short_id(move.new_id) + " (" +
                 m_repo.commit(move.new_id).summary + ") does not validate (" +
                 plural(errors, "problem") + "); nothing invalid reaches " + env.name + ":" +
                 diagnostics_text(shown, errors) + "\n  (fix it on " + m_config.first().name +
                 ", check with envflow validate, and push or promote again)");
      return false;
    }
  }
  for (const auto& id : commits) {
    if (id == move.new_id) {
      continue; // its whole tree was checked above
    }
    const git::CommitInfo info = m_repo.commit(id);
    const std::string base = info.parents.empty() ? std::string() : info.parents.front();
    std::set<std::string> changed;
    for (const auto& change : m_repo.diff_trees(base, id)) {
      changed.insert(change.path);
    }
    if (changed.empty()) {
      continue; // an empty commit: its tree is its parent's, judged with that commit
    }
    workspace::TreeSource source(m_repo, id);
    const content::ValidationReport report =
        content::validate(source, options, content::SchemaSet::builtin());
    std::vector<const content::Diagnostic*> shown;
    size_t errors = 0;
    for (const auto& d : report.diagnostics) {
      // Reference findings count wherever they are: removing an agent
      // breaks the unchanged workflow that calls it.
      if (d.severity != content::Severity::error ||
          (!changed.contains(d.path) && !util::starts_with(d.rule, "ref-"))) {
        continue;
      }
      if (++errors <= k_max_diagnostics) {
        shown.push_back(&d);
      }
    }
    if (errors > 0) {
      refuse(move, Gate::content,
             "commit " + model::short_id(id) + " (" + info.summary + ") does not validate (" +
                 plural(errors, "problem") + "); nothing invalid reaches " + env.name + ":" +
                 diagnostics_text(shown, errors) +
                 (&env == &m_config.first()
                      ? "\n  (fix it, check with envflow validate, and push again)"
                      : "\n  (a later commit that fixes it does not hide it: every commit "
                        "entering " +
                            env.name +
                            " must validate; take it out of the history "
                            "that brings it, e.g. with git rebase -i, and try again)"));
      return false;
    }
  }
  return true;
}

bool Judge::overrides_fit(const model::RefMove& move, const policy::Environment& env) {
  std::vector<std::string> problems;
  try {
    problems = records::override_problems(m_after, env, move.new_id);
  } catch (const util::Refused& e) {
    refuse(move, Gate::overrides, e.what());
    return false;
  }
  if (problems.empty()) {
    return true;
  }
  refuse(move, Gate::overrides,
         "the incoming content would leave the variable overrides of " + env.name +
             " invalid:\n  " + util::join(problems, "\n  ") +
             "\n  (envflow sync drops the overrides of removed variables in the same move; set "
             "or unset the others first: envflow var set/unset --env " +
             env.name + ")");
  return false;
}

} // namespace envflow::core::pipeline::judging

namespace envflow::core::pipeline {

using judging::Depth;
using judging::Judge;

bool may(const policy::PipelineConfig& config, const std::string& person, Right right,
         const std::string& env) {
  if (person.empty() || config.environments.empty()) {
    return false;
  }
  const auto member = [&](const std::vector<std::string>& groups) {
    return config.member(person, groups);
  };
  switch (right) {
  case Right::publish:
    return member(config.publishers);
  case Right::hotfix:
    return member(config.hotfixers);
  case Right::admin:
    return member(config.admins);
  case Right::approve_hotfix:
    return member(config.hotfix_approvers);
  default:
    break;
  }
  const policy::Environment* e = config.find(env);
  if (e == nullptr) {
    return false;
  }
  if (right == Right::write) {
    return member(e->write);
  }
  if (right == Right::local) {
    return member(e->local);
  }
  if (config.index_of(env) < 1) {
    return false; // nothing is promoted into the first environment
  }
  switch (right) {
  case Right::promote:
    return member(e->promote);
  case Right::approve:
    return member(e->approvers);
  case Right::hold:
    return member(config.publishers) || member(e->promote);
  case Right::check:
    return member(e->promote) || member(config.admins);
  default:
    return false;
  }
}

std::string Actor::describe() const {
  if (name.empty()) {
    return "an unknown pusher";
  }
  return source.empty() ? name : name + " (" + source + ")";
}

std::string Judgement::reasons() const {
  if (refusals.size() == 1) {
    return refusals.front().reason;
  }
  std::string text;
  for (const auto& r : refusals) {
    text += (text.empty() ? "" : "\n") + (r.ref.empty() ? std::string("change") : r.ref) + ": " +
            r.reason;
  }
  return text;
}

void Judgement::enforce() const {
  if (ok()) {
    return;
  }
  const bool forbidden = std::any_of(refusals.begin(), refusals.end(),
                                     [](const Refusal& r) { return r.gate == Gate::identity; });
  if (forbidden) {
    throw util::Forbidden(reasons());
  }
  std::string hint;
  for (const auto& r : refusals) {
    if (!r.hint.empty()) {
      hint = r.hint;
      break;
    }
  }
  throw GateRefused(reasons(), gate_name(refusals.front().gate), hint);
}

const char* gate_name(Gate gate) {
  static constexpr auto k_names = std::to_array<util::EnumName<Gate>>(
      {{Gate::identity, "identity"},   {Gate::fast_forward, "fast-forward"},
       {Gate::approvals, "approvals"}, {Gate::hold, "hold"},
       {Gate::backport, "backport"},   {Gate::hotfix_undo, "hotfix-undo"},
       {Gate::content, "content"},     {Gate::overrides, "overrides"},
       {Gate::checks, "checks"},       {Gate::release, "release"},
       {Gate::record, "record"}});
  return util::name_of(k_names, gate, "fast-forward").data();
}

Judgement judge(const model::Pipeline& before, const std::vector<model::RefMove>& moves,
                const Actor& actor, Automatic automatic) {
  return Judge(before, moves, actor, automatic).run();
}

Judgement judge_authority(const model::Pipeline& before, const std::vector<model::RefMove>& moves,
                          const Actor& actor) {
  return Judge(before, moves, actor, Automatic::no, Depth::authority).run();
}

} // namespace envflow::core::pipeline
