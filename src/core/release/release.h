#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/refs.h"
#include "core/model/view.h"
#include "core/policy/config.h"
#include "core/records/hold.h"
#include "git/repo.h"

namespace envflow::core::pipeline {
class Session;
}

namespace envflow::core::release {

struct Version {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string str() const; // "v1.2.3"
  static std::optional<Version> parse(std::string_view text); // "v1.2.3" or "1.2.3"
  auto operator<=>(const Version&) const = default;
};

enum class Bump { auto_, patch, minor, major };
Bump parse_bump(const std::string& text); // throws util::UsageError

// The self-description written into every release tag's message.
struct Manifest {
  std::string environment;
  std::string commit;
  std::string version;
  std::string previous; // "" for the first release
  std::string bump;     // patch | minor | major | initial | explicit
  bool hotfix = false;
  std::vector<std::pair<std::string, std::string>> items;     // path -> blob id
  std::vector<std::pair<std::string, std::string>> overrides; // variable -> JSON value

  std::string to_text() const;
  static std::optional<Manifest> parse(const std::string& message);
};

struct Release {
  std::string tag;     // "v1.2.0"
  Version version;
  std::string tag_id;
  std::string commit;
  std::string tagger;  // email
  std::int64_t time = 0;
  bool hotfix = false;
  bool is_signed = false;
  bool live = false;

  // The stable JSON form documented in docs/json.md, section "releases".
  nlohmann::json to_json() const;
};

// A detached signature of `payload` by the release signer (the policy's
// release.format / release.signing_key, else git's gpg.format and
// user.signingKey): what signs release tags also signs check results.
// util::Refused with the signer's message when signing fails.
std::string sign_as_release_signer(const git::Repository& repo,
                                   const policy::PipelineConfig& config, std::string_view payload);

// Why `signature` over `payload` is not one by an allowed signer of the
// policy in force (release.allowed_signers on refs/envflow/config), or
// nullopt when it is.
std::optional<std::string> allowed_signer_problem(const model::Pipeline& pipeline,
                                                  std::string_view payload,
                                                  std::string_view signature);

// Every release tag (annotated `vMAJOR.MINOR.PATCH` with an envflow
// manifest) as `pipeline` reads them, oldest version first.
std::vector<Release> list_releases(const model::Pipeline& pipeline);

// The newest `limit` releases of list_releases (all of them when nullopt),
// oldest version first. Versions are known from the tag names, so only the
// tags that can be among them are read: the cost follows `limit`, not how
// many releases were ever made.
std::vector<Release> newest_releases(const model::Pipeline& pipeline,
                                     std::optional<std::size_t> limit);

// The release whose tag object is `tag_id` (and whose tag ref points at it).
std::optional<Release> release_by_tag_id(const model::Pipeline& pipeline,
                                         const std::string& tag_id);

// Whether moving live from `from` to `to` takes end users back: to an older
// version, or to content that lacks what `from` had. A rollback puts a hold
// on the last environment in the same change.
bool is_rollback(const git::Repository& repo, const Release& from, const Release& to);

// The commit of the live release: what end users get.
std::optional<std::string> live_release_commit(const model::Pipeline& pipeline);

struct ReleaseRequest {
  std::string commit;                // what to tag (a commit of the last environment)
  Bump bump = Bump::auto_;
  std::optional<Version> exact;      // --version
  std::string message;               // -m
  bool sign = true;
  bool hotfix = false;
  std::string actor;
  // refs/envflow/live as the caller read it when the operation began: the
  // live move is compare-and-swapped against it (nullopt: absent).
  std::optional<std::string> expected_live;
  // Stop once the version, bump and notes are known: no manifest, no
  // signature, no tag object written, no updates (publish --dry-run).
  bool dry_run = false;
};

struct PreparedRelease {
  std::string tag;                   // "v1.2.0"
  std::string tag_id;                // written tag object ("" for a dry run)
  Version version;
  std::string commit;
  std::string bump;
  std::string notes;                 // release notes (part of the tag message)
  std::vector<git::RefUpdate> updates; // create refs/tags/<tag>, move refs/envflow/live
};

// Compute the version and notes, build the manifest, sign, and write the
// tag object (a dry run stops after the notes). Moves no reference: the
// caller commits `updates` (with any of its own) through commit_with_audit.
PreparedRelease prepare_release(git::Repository& repo, const model::Pipeline& pipeline,
                                const ReleaseRequest& request);

struct PublishOptions {
  Bump bump = Bump::auto_;
  std::optional<Version> exact;
  std::string message;
  bool no_sign = false;
  bool force = false;
  std::string reason;
  bool dry_run = false; // say the version, bump and notes; move nothing
};

struct PublishResult {
  enum class Outcome { published, republished, nothing };
  Outcome outcome = Outcome::nothing;
  std::string tag;
  std::string commit;
  std::string previous_live;
  std::string bump;  // patch | minor | major | initial | explicit ("" when not published)
  std::string notes;
};

// `envflow publish`: tag the last environment's head and move live to it,
// one operation judged by the rulebook.
PublishResult publish(pipeline::Session& session, const PublishOptions& options);

struct VerifyResult {
  std::string tag;
  bool signature_ok = false;
  bool manifest_ok = true;
  bool no_allowed_signers = false; // signed, but nothing to check the signature against
  std::string signer;
  std::vector<std::string> problems; // empty when the release verifies
  bool ok() const { return problems.empty(); }
};

// Check a release's signature against the policy's allowed signers and its
// manifest against the tagged tree. util::UsageError for an unknown tag.
VerifyResult verify_release(const model::Pipeline& pipeline, const std::string& tag);

// What is wrong with release tag object `tag` pushed or kept as `name`: a
// missing signature when the policy asks for one, a signature not by an
// allowed signer, a manifest that does not match the tagged tree. Empty when
// it verifies. Fills `result` (signature_ok, signer, manifest_ok) when given.
std::vector<std::string> release_problems(const model::Pipeline& pipeline, const git::TagInfo& tag,
                                          const std::string& name, VerifyResult* result = nullptr);

// What keeps release tag `tag` from being made or going live, the one test
// the rulebook applies: release_problems(), except that a signature cannot be
// held against a release while the policy names no allowed signers at all
// (`envflow verify` still reports it as untrusted).
std::vector<std::string> release_blockers(const model::Pipeline& pipeline, const git::TagInfo& tag,
                                          const std::string& name);

struct RollbackResult {
  std::string tag;
  std::string previous_live;
  bool noop = false;
  std::optional<records::Hold> hold; // the hold the rollback put on the last environment
};

// Point live at an earlier release (verified first) and hold the last
// environment, one operation. `reason` goes into the record.
RollbackResult rollback(pipeline::Session& session, const std::string& tag,
                        const std::string& reason = "");

} // namespace envflow::core::release
