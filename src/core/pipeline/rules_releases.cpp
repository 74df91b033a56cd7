#include "core/pipeline/judge.h"

namespace envflow::core::pipeline::judging {

bool Judge::may_release_at_all(const model::RefMove& move, const std::string& what) {
  if (may(Right::publish) || may(Right::hotfix)) {
    return true;
  }
  refuse(move, Gate::identity,
         who() + " may not " + what +
             " (publishers: " + policy::PipelineConfig::groups_text(m_config.publishers) +
             "; hotfixers, for the release of a hotfix: " +
             policy::PipelineConfig::groups_text(m_config.hotfixers) + ")");
  return false;
}

bool Judge::may_release(const model::RefMove& move, const std::string& tag,
                        const std::string& commit) {
  if (may(Right::publish) || is_hotfix_commit(commit)) {
    return true;
  }
  refuse(move, Gate::identity,
         who() + " is a hotfixer but not a publisher, and " + tag + " releases " +
             model::short_id(commit) + ", which " +
             m_config.environments[m_config.environments.size() - 2].name +
             " holds: that is a publish (publishers: " +
             policy::PipelineConfig::groups_text(m_config.publishers) +
             "); a hotfixer releases their hotfix with envflow hotfix finish");
  return false;
}

void Judge::judge_release_tag(const model::RefMove& move, const std::string& name) {
  if (model::is_zero(move.new_id)) {
    refuse(move, Gate::release, "release tags are never deleted (" + name + ")");
    return;
  }
  if (!model::is_zero(move.old_id)) {
    refuse(move, Gate::release,
           "release tags are never moved: " + name + " already points at " +
               model::short_id(move.old_id) + " (publish a new version instead)");
    return;
  }
  if (!may_release_at_all(move, "create release tags")) {
    return;
  }
  const auto tag = m_repo.tag(move.new_id);
  if (!tag) {
    refuse(move, Gate::release,
           name + " is a lightweight tag; a release tag is annotated (envflow publish makes it)");
    return;
  }
  if (tag->name != name) {
    refuse(move, Gate::release,
           "the tag object is named " + tag->name + " but is pushed as " + name);
    return;
  }
  const policy::Environment& last = m_config.last();
  if (tag->target_type != "commit" || !contains(m_after.head(last), tag->target)) {
    refuse(move, Gate::release,
           name + " points at " + model::short_id(tag->target) + ", which is not a commit of " +
               last.name + " (after this change): releases are made from " + last.name);
    return;
  }
  if (!may_release(move, name, tag->target)) {
    return;
  }
  if (authority_only()) {
    return;
  }
  if (const auto problems = release::release_blockers(m_before, *tag, name); !problems.empty()) {
    refuse(move, Gate::release, name + " does not verify:\n  " + util::join(problems, "\n  "));
    return;
  }
  // What end users would get validates, even when the last environment
  // was moved where nothing judged it (by hand, in a repository used alone).
  if (!content_valid(model::RefMove{move.ref, std::string(git::k_zero_id), tag->target}, last,
                     {})) {
    return;
  }
  note("release " + name + " of " + model::short_id(tag->target));
}

void Judge::judge_live(const model::RefMove& move) {
  if (model::is_zero(move.new_id)) {
    refuse(move, Gate::release,
           "deleting refs/envflow/live is not allowed (roll back with envflow rollback)");
    return;
  }
  if (!may_release_at_all(move, "move refs/envflow/live")) {
    return;
  }
  const auto to = release::release_by_tag_id(m_after, move.new_id);
  if (!to) {
    refuse(move, Gate::release,
           "refs/envflow/live must point at a release tag object (refs/tags/vX.Y.Z); " +
               model::short_id(move.new_id) + " is none");
    return;
  }
  if (!may(Right::publish) && !move_of(model::tag_ref(to->tag))) {
    refuse(move, Gate::identity,
           who() +
               " is a hotfixer but not a publisher: live moves with the release of their "
               "hotfix only (envflow hotfix finish); making " +
               to->tag + " live again, or rolling back, is for publishers (" +
               policy::PipelineConfig::groups_text(m_config.publishers) + ")");
    return;
  }
  if (!move_of(model::tag_ref(to->tag)) && !authority_only()) {
    // An existing release (a rollback, or making one live again): verify it.
    const auto tag = m_repo.tag(move.new_id);
    if (const auto problems = tag ? release::release_blockers(m_before, *tag, to->tag)
                                  : std::vector<std::string>{"not a tag object"};
        !problems.empty()) {
      refuse(move, Gate::release,
             "live cannot point at " + to->tag + ", which does not verify:\n  " +
                 util::join(problems, "\n  "));
      return;
    }
  }
  const auto from = model::is_zero(move.old_id) ? std::nullopt
                                                : release::release_by_tag_id(m_before, move.old_id);
  if (from && release::is_rollback(m_repo, *from, *to) &&
      !records::hold_on(m_after, m_config.last().name)) {
    refuse(move, Gate::release,
           "moving live back from " + from->tag + " to " + to->tag +
               " is a rollback: it puts a hold on " + m_config.last().name +
               " in the same change, so auto-promotion does not bring the release back (envflow "
               "rollback " +
               to->tag + " does both)");
    return;
  }
  note("live -> " + to->tag);
}

} // namespace envflow::core::pipeline::judging
