#include "core/release/release.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "content/kinds.h"
#include "content/schema.h"
#include "content/validator.h"
#include "core/model/audit.h"
#include "core/pipeline/rules.h"
#include "core/pipeline/session.h"
#include "core/records/hold.h"
#include "core/records/overrides.h"
#include "core/workspace/diff.h"
#include "core/workspace/memo.h"
#include "core/workspace/sources.h"
#include "sign/signer.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::release {

namespace {

constexpr std::string_view k_manifest_marker = "envflow-manifest:";

// Files a release is made of: the workspace file and the promoted folders.
bool is_release_item(const std::string& path) {
  if (path == content::k_workspace_file) {
    return true;
  }
  const content::KindInfo* kind = content::kind_by_folder(util::first_component(path));
  return kind != nullptr && kind->scope == content::Scope::promoted;
}

std::vector<std::pair<std::string, std::string>> items_of(const git::Repository& repo,
                                                          const std::string& commit) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& entry : repo.list_tree(commit)) {
    if (is_release_item(entry.path)) {
      items.emplace_back(entry.path, entry.id);
    }
  }
  return items;
}

sign::SigningConfig signing_config(const git::Repository& repo,
                                   const policy::PipelineConfig& config) {
  sign::SigningConfig signing;
  signing.format = sign::parse_format(!config.release_format.empty()
                                          ? config.release_format
                                          : repo.config_string("gpg.format").value_or("openpgp"));
  signing.key = !config.release_signing_key.empty()
                    ? config.release_signing_key
                    : repo.config_string("user.signingKey").value_or("");
  signing.program = signing.format == sign::Format::ssh
                        ? repo.config_string("gpg.ssh.program").value_or("")
                        : repo.config_string("gpg.program").value_or("");
  if (signing.key.empty() && signing.format == sign::Format::openpgp) {
    // git signs with the committer's email when no key is set.
    signing.key = repo.config_string("user.email").value_or("");
  }
  return signing;
}

// util::UsageError for a release tag `pipeline` does not hold, with the
// closest release tag when one is close (a typo of v1.2.0).
[[noreturn]] void unknown_release(const model::Pipeline& pipeline, const std::string& tag) {
  std::vector<std::string> tags;
  for (const auto& release : list_releases(pipeline)) {
    tags.push_back(release.tag);
  }
  const std::string guess = util::did_you_mean(tag, tags);
  throw util::UsageError("no release tag '" + tag + "'" + (guess.empty() ? "" : "; " + guess) +
                             " (see envflow releases)",
                         "unknown-release", guess.empty() ? "envflow releases lists them" : guess);
}

void require_publisher(const policy::PipelineConfig& config, const std::string& actor,
                       const std::string& what) {
  if (!may(config, actor, pipeline::Right::publish)) {
    throw util::Forbidden(actor + " may not " + what + " (publisher groups: " +
                          policy::PipelineConfig::groups_text(config.publishers) + ")");
  }
}

std::string notes_from(const workspace::SemanticDiff& diff, const std::string& previous) {
  if (diff.empty()) {
    return "No content changes since " + previous + ".\n";
  }
  std::string notes = "Changes since " + previous + ": " + diff.counts().text() + "\n";
  for (const auto& item : diff.items) {
    if (!item.listed()) {
      continue; // a rename: one line, on its removed side
    }
    notes += "  " + std::string(item.mark()) + " " + item.title();
    if (!item.fields.empty()) {
      notes += ": " + util::join(item.fields, ", ");
    }
    if (item.breaking) {
      notes += " (BREAKING: " + item.reason + ")";
    }
    notes += "\n";
  }
  return notes;
}

// What the tag object `id` holds as a release, whatever ref names it: nullopt
// for a lightweight tag or a tag envflow did not make (no manifest). Read
// once per tag object and remembered by its id in `memo` (core/workspace/memo.h): with
// 1,000 releases, each carrying the manifest of every item, a listing would
// otherwise parse them all on every run.
std::optional<Release> read_release(const git::Repository& repo, const std::string& id,
                                    workspace::ObjectMemo& memo) {
  if (const nlohmann::json* known = memo.find(id)) {
    try {
      if (known->is_null()) {
        return std::nullopt;
      }
      Release release;
      release.tag = known->at("tag").get<std::string>();
      release.tag_id = id;
      release.commit = known->at("commit").get<std::string>();
      release.tagger = known->at("tagger").get<std::string>();
      release.time = known->at("time").get<std::int64_t>();
      release.hotfix = known->at("hotfix").get<bool>();
      release.is_signed = known->at("signed").get<bool>();
      return release;
    } catch (const nlohmann::json::exception&) {
      // not as written: read the tag again
    }
  }
  std::optional<Release> release;
  const auto tag = repo.tag(id);
  const auto manifest = tag ? Manifest::parse(tag->message) : std::nullopt;
  if (tag && manifest) {
    release.emplace();
    release->tag = tag->name;
    release->tag_id = id;
    release->commit = tag->target;
    release->tagger = tag->tagger.email;
    release->time = tag->time;
    release->hotfix = manifest->hotfix;
    std::string payload;
    std::string signature;
    sign::Format format{};
    release->is_signed = sign::split_signature(tag->raw, payload, signature, format);
  }
  // Its JSON form; what is read back above are the facts of the tag object
  // (not `live`, which the listing sets).
  memo.insert(id, release ? release->to_json() : nlohmann::json(nullptr));
  return release;
}

// The release the tag ref refs/tags/`name` -> `id` is, or nullopt.
std::optional<Release> release_at(const git::Repository& repo, const std::string& name,
                                  const std::string& id, const std::optional<std::string>& live,
                                  workspace::ObjectMemo& memo) {
  if (!model::is_release_tag_name(name)) {
    return std::nullopt;
  }
  std::optional<Release> release = read_release(repo, id, memo);
  if (!release || release->tag != name) {
    return std::nullopt; // lightweight tags and aliases of other tags are not releases
  }
  release->version = *Version::parse(name);
  release->live = live && *live == id;
  return release;
}

// The memo of release tags (read_release): its name says its format.
workspace::ObjectMemo release_memo(const model::Pipeline& pipeline) {
  return workspace::ObjectMemo(pipeline.repo, "releases-1", pipeline.cache);
}

} // namespace

std::string Version::str() const {
  return "v" + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<Version> Version::parse(std::string_view text) {
  if (util::starts_with(text, "v")) {
    text.remove_prefix(1);
  }
  const auto parts = util::split(text, '.');
  if (parts.size() != 3) {
    return std::nullopt;
  }
  Version v;
  int* fields[] = {&v.major, &v.minor, &v.patch};
  for (size_t i = 0; i < 3; ++i) {
    const auto& p = parts[i];
    if (p.empty() || p.size() > 9 || (p.size() > 1 && p[0] == '0') ||
        !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt; // digits only: from_chars would take "-2"
    }
    const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), *fields[i]);
    if (ec != std::errc() || ptr != p.data() + p.size()) {
      return std::nullopt;
    }
  }
  return v;
}

Bump parse_bump(const std::string& text) {
  if (text == "auto") {
    return Bump::auto_;
  }
  if (text == "patch") {
    return Bump::patch;
  }
  if (text == "minor") {
    return Bump::minor;
  }
  if (text == "major") {
    return Bump::major;
  }
  throw util::UsageError("--bump takes auto, patch, minor or major, not '" + text + "'");
}

std::string Manifest::to_text() const {
  std::string out = std::string(k_manifest_marker) + "\n";
  out += "environment: " + environment + "\n";
  out += "commit: " + commit + "\n";
  out += "version: " + version + "\n";
  out += "previous: " + (previous.empty() ? std::string("none") : previous) + "\n";
  out += "bump: " + bump + "\n";
  out += std::string("hotfix: ") + (hotfix ? "true" : "false") + "\n";
  for (const auto& [path, id] : items) {
    out += "item: " + id + " " + path + "\n";
  }
  for (const auto& [name, value] : overrides) {
    out += "override: " + name + " " + value + "\n";
  }
  return out;
}

std::optional<Manifest> Manifest::parse(const std::string& message) {
  // The last block is envflow's own: text given with -m comes before it.
  const size_t start = message.rfind(std::string("\n") + std::string(k_manifest_marker) + "\n");
  if (start == std::string::npos) {
    return std::nullopt;
  }
  Manifest manifest;
  bool has_commit = false;
  for (const auto& line : util::split(message.substr(start + k_manifest_marker.size() + 2), '\n')) {
    if (line.empty() || util::starts_with(line, "-----BEGIN")) {
      break;
    }
    const auto field = util::split_field(line);
    if (!field) {
      return std::nullopt;
    }
    const auto& [key, value] = *field;
    if (key == "environment") {
      manifest.environment = value;
    } else if (key == "commit") {
      manifest.commit = value;
      has_commit = true;
    } else if (key == "version") {
      manifest.version = value;
    } else if (key == "previous") {
      manifest.previous = value == "none" ? "" : value;
    } else if (key == "bump") {
      manifest.bump = value;
    } else if (key == "hotfix") {
      manifest.hotfix = value == "true";
    } else if (key == "item" || key == "override") {
      const size_t space = value.find(' ');
      if (space == std::string::npos) {
        return std::nullopt;
      }
      auto& list = key == "item" ? manifest.items : manifest.overrides;
      if (key == "item") {
        list.emplace_back(value.substr(space + 1), value.substr(0, space));
      } else {
        list.emplace_back(value.substr(0, space), value.substr(space + 1));
      }
    } else {
      return std::nullopt;
    }
  }
  if (!has_commit) {
    return std::nullopt;
  }
  return manifest;
}

nlohmann::json Release::to_json() const {
  return {{"tag", tag},
          {"commit", commit},
          {"tag_id", tag_id},
          {"time", time},
          {"tagger", tagger},
          {"hotfix", hotfix},
          {"signed", is_signed},
          {"live", live}};
}

std::string sign_as_release_signer(const git::Repository& repo,
                                   const policy::PipelineConfig& config, std::string_view payload) {
  return sign::sign(signing_config(repo, config), payload);
}

std::optional<std::string> allowed_signer_problem(const model::Pipeline& pipeline,
                                                  std::string_view payload,
                                                  std::string_view signature) {
  const policy::PipelineConfig& config = pipeline.config;
  const auto config_head = pipeline.refs.target(model::k_config_ref);
  const auto trusted = config.release_allowed_signers.empty() || !config_head
                           ? std::nullopt
                           : pipeline.repo.read_path(*config_head, config.release_allowed_signers);
  if (!trusted) {
    return std::string("the policy names no allowed signers (release.allowed_signers)");
  }
  const sign::Format format = signature.find("-----BEGIN SSH SIGNATURE-----") != std::string_view::npos
                                  ? sign::Format::ssh
                                  : sign::Format::openpgp;
  const auto verification = sign::verify(format, *trusted, payload, signature);
  if (!verification.good) {
    return sign::format_name(format) + " signature is not by an allowed signer: " +
           verification.detail;
  }
  return std::nullopt;
}

std::vector<Release> list_releases(const model::Pipeline& pipeline) {
  return newest_releases(pipeline, std::nullopt);
}

std::vector<Release> newest_releases(const model::Pipeline& pipeline,
                                     std::optional<std::size_t> limit) {
  // Newest version first, from the ref names alone; a name that is no
  // release (a lightweight tag, one envflow did not make) is skipped once read.
  std::vector<std::pair<Version, std::string>> tags;
  for (const auto& ref : pipeline.refs.names(model::tag_ref("v"))) {
    if (const std::string name = ref.substr(model::k_tags_prefix.size());
        model::is_release_tag_name(name)) {
      tags.emplace_back(*Version::parse(name), ref);
    }
  }
  std::sort(tags.begin(), tags.end(),
            [](const auto& a, const auto& b) { return b.first < a.first; });
  const auto live = pipeline.live();
  std::vector<Release> releases;
  workspace::ObjectMemo memo = release_memo(pipeline);
  for (const auto& [version, ref] : tags) {
    if (limit && releases.size() >= *limit) {
      break;
    }
    const auto id = pipeline.refs.target(ref);
    if (!id) {
      continue;
    }
    if (auto release =
            release_at(pipeline.repo, ref.substr(model::k_tags_prefix.size()), *id, live, memo)) {
      releases.push_back(std::move(*release));
    }
  }
  std::reverse(releases.begin(), releases.end());
  return releases;
}

std::optional<Release> release_by_tag_id(const model::Pipeline& pipeline,
                                         const std::string& tag_id) {
  const auto tag = pipeline.repo.tag(tag_id);
  if (!tag || !model::is_release_tag_name(tag->name) ||
      pipeline.refs.target(model::tag_ref(tag->name)) != tag_id) {
    return std::nullopt;
  }
  workspace::ObjectMemo one(""); // one tag: reading it costs less than reading the memo
  return release_at(pipeline.repo, tag->name, tag_id, pipeline.live(), one);
}

bool is_rollback(const git::Repository& repo, const Release& from, const Release& to) {
  return to.version < from.version || !repo.is_ancestor(from.commit, to.commit);
}

std::optional<std::string> live_release_commit(const model::Pipeline& pipeline) {
  if (const auto live = pipeline.live()) {
    if (const auto release = release_by_tag_id(pipeline, *live)) {
      return release->commit;
    }
  }
  return std::nullopt;
}

std::vector<std::string> release_problems(const model::Pipeline& pipeline, const git::TagInfo& tag,
                                          const std::string& name, VerifyResult* result) {
  std::vector<std::string> problems;
  const policy::PipelineConfig& config = pipeline.config;
  std::string payload;
  std::string signature;
  sign::Format format{};
  if (!sign::split_signature(tag.raw, payload, signature, format)) {
    if (config.release_sign || result != nullptr) {
      problems.push_back(name + " is not signed" +
                         (config.release_sign ? std::string(", and the policy requires signed "
                                                            "releases (release.sign)")
                                              : std::string()));
    }
  } else {
    const auto config_head = pipeline.refs.target(model::k_config_ref);
    const auto trusted = config.release_allowed_signers.empty() || !config_head
                             ? std::nullopt
                             : pipeline.repo.read_path(*config_head, config.release_allowed_signers);
    if (!trusted) {
      if (result != nullptr) {
        result->no_allowed_signers = true;
      }
      problems.push_back("the policy names no allowed signers (release.allowed_signers in "
                         "envflow.yaml, a file on refs/envflow/config added with envflow config "
                         "put): no signature can be trusted");
    } else {
      const auto verification = sign::verify(format, *trusted, payload, signature);
      if (result != nullptr) {
        result->signature_ok = verification.good;
        result->signer = verification.signer;
      }
      if (!verification.good) {
        problems.push_back(sign::format_name(format) + " signature of " + name +
                           " is not by an allowed signer: " + verification.detail);
      }
    }
  }
  const size_t signature_problems = problems.size();
  const auto manifest = Manifest::parse(tag.message);
  if (!manifest) {
    problems.push_back("the tag message of " + name + " has no readable envflow manifest");
  } else {
    if (manifest->commit != tag.target) {
      problems.push_back("manifest commit " + model::short_id(manifest->commit) +
                         " is not the tagged commit " + model::short_id(tag.target));
    }
    if (manifest->version != name) {
      problems.push_back("manifest version " + manifest->version + " is not the tag name " + name);
    }
    const auto actual = items_of(pipeline.repo, tag.target);
    std::map<std::string, std::string> expected(manifest->items.begin(), manifest->items.end());
    std::map<std::string, std::string> found(actual.begin(), actual.end());
    for (const auto& [path, digest] : expected) {
      const auto it = found.find(path);
      if (it == found.end()) {
        problems.push_back("manifest lists " + path + ", which the tagged tree lacks");
      } else if (it->second != digest) {
        problems.push_back(path + " differs: manifest " + model::short_id(digest) + ", tree " +
                           model::short_id(it->second));
      }
    }
    for (const auto& [path, digest] : found) {
      if (!expected.contains(path)) {
        problems.push_back(path + " is in the tagged tree but not in the manifest");
      }
    }
  }
  if (result != nullptr) {
    result->manifest_ok = problems.size() == signature_problems;
  }
  return problems;
}

std::vector<std::string> release_blockers(const model::Pipeline& pipeline, const git::TagInfo& tag,
                                          const std::string& name) {
  VerifyResult verified;
  auto problems = release_problems(pipeline, tag, name, &verified);
  if (!pipeline.config.release_sign) {
    // Unsigned releases are allowed: only verify reports them.
    std::erase(problems, name + " is not signed");
  }
  if (verified.no_allowed_signers && pipeline.config.release_allowed_signers.empty()) {
    // Nothing to check a signature against: the signature cannot make it
    // wrong, `envflow verify` says it cannot be trusted.
    std::erase_if(problems, [](const std::string& p) {
      return p.starts_with("the policy names no allowed signers");
    });
  }
  return problems;
}

PreparedRelease prepare_release(git::Repository& repo, const model::Pipeline& pipeline,
                                const ReleaseRequest& request) {
  const policy::PipelineConfig& config = pipeline.config;
  const policy::Environment& last = config.last();
  const std::vector<Release> releases = list_releases(pipeline);
  // Versions only grow: the next one follows the newest release. Notes and
  // the automatic bump compare with what end users get now: the live
  // release (after a rollback, not the newest).
  const Release* newest = releases.empty() ? nullptr : &releases.back();
  const Release* previous = newest;
  for (const auto& r : releases) {
    if (r.live) {
      previous = &r;
    }
  }

  PreparedRelease prepared;
  prepared.commit = request.commit;
  std::optional<workspace::SemanticDiff> diff;
  if (previous != nullptr) {
    diff = workspace::semantic_diff(repo, pipeline.cache, previous->commit, request.commit);
  }
  if (request.exact) {
    if (newest != nullptr && !(newest->version < *request.exact)) {
      throw util::UsageError("version " + request.exact->str() + " is not after the latest " +
                             "release " + newest->tag);
    }
    prepared.version = *request.exact;
    prepared.bump = "explicit";
  } else if (previous == nullptr) {
    prepared.version = Version{1, 0, 0};
    prepared.bump = "initial";
  } else {
    Bump bump = request.bump;
    if (bump == Bump::auto_) {
      const bool added = std::any_of(diff->items.begin(), diff->items.end(), [](const auto& i) {
        return i.change == workspace::ItemChange::Change::added;
      });
      bump = diff->breaking() ? Bump::major : added ? Bump::minor : Bump::patch;
    }
    prepared.version = newest->version;
    switch (bump) {
    case Bump::major:
      prepared.version = Version{prepared.version.major + 1, 0, 0};
      prepared.bump = "major";
      break;
    case Bump::minor:
      prepared.version = Version{prepared.version.major, prepared.version.minor + 1, 0};
      prepared.bump = "minor";
      break;
    case Bump::patch:
    case Bump::auto_:
      prepared.version.patch += 1;
      prepared.bump = "patch";
      break;
    }
  }
  prepared.tag = prepared.version.str();
  const std::string tag_ref = "refs/tags/" + prepared.tag;
  if (pipeline.refs.target(tag_ref) || repo.ref_target(tag_ref)) {
    throw util::Refused("tag " + prepared.tag + " already exists; release tags never move");
  }

  prepared.notes = previous != nullptr ? notes_from(*diff, previous->tag) : "Initial release.\n";
  if (previous != nullptr && newest != previous) {
    prepared.notes += "(Live was rolled back to " + previous->tag + "; releases after it up to " +
                      newest->tag + " are not part of this one.)\n";
  }
  if (request.dry_run) {
    return prepared;
  }
  Manifest manifest;
  manifest.environment = last.name;
  manifest.commit = request.commit;
  manifest.version = prepared.tag;
  manifest.previous = previous != nullptr ? previous->tag : "";
  manifest.bump = prepared.bump;
  manifest.hotfix = request.hotfix;
  manifest.items = items_of(repo, request.commit);
  for (const auto& [name, value] : records::read_overrides(pipeline, last.name).values) {
    manifest.overrides.emplace_back(name, util::dump_json(value.to_json()));
  }

  std::string message = std::string(request.hotfix ? "Hotfix release " : "Release ") +
                        prepared.tag + " (" + last.name + ")\n\n";
  if (!request.message.empty()) {
    message += std::string(util::trim(request.message)) + "\n\n";
  }
  message += prepared.notes + "\n" + manifest.to_text();

  git::Person tagger = repo.default_person();
  if (request.actor.find('@') != std::string::npos) {
    tagger.email = request.actor;
  }
  std::string raw = "object " + request.commit + "\ntype commit\ntag " + prepared.tag +
                    "\ntagger " + tagger.name + " <" + tagger.email + "> " +
                    std::to_string(util::now()) + " +0000\n\n" + message;
  if (request.sign) {
    raw += sign::sign(signing_config(repo, config), raw);
  }
  prepared.tag_id = repo.write_tag_object(raw);
  prepared.updates.push_back(git::RefUpdate{tag_ref, std::nullopt, prepared.tag_id});
  prepared.updates.push_back(
      git::RefUpdate{model::k_live_ref, request.expected_live, prepared.tag_id});
  return prepared;
}

PublishResult publish(pipeline::Session& session, const PublishOptions& options) {
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  git::Repository& repo = session.repo();
  require_publisher(config, session.actor(), "publish");
  const policy::Environment& last = config.last();
  const std::string head = pipeline.require_head(last);
  const auto live_id = pipeline.live();
  const std::vector<Release> releases = list_releases(pipeline);
  const Release* live = nullptr;
  const Release* at_head = nullptr;
  for (const auto& r : releases) {
    if (live_id && r.tag_id == *live_id) {
      live = &r;
    }
    if (r.commit == head) {
      at_head = &r;
    }
  }
  PublishResult result;
  result.commit = head;
  result.previous_live = live != nullptr ? live->tag : "";
  if (live != nullptr && live->commit == head) {
    result.tag = live->tag;
    return result; // nothing to publish
  }
  pipeline::Operation operation;
  operation.reason = options.reason;
  if (at_head != nullptr) {
    // Head was released before and live was rolled back from it.
    if (!options.force || util::trim(options.reason).empty()) {
      throw util::Refused(last.name + "'s head was released as " + at_head->tag +
                          " and live was rolled back to " +
                          (live != nullptr ? live->tag : std::string("nothing")) +
                          "; to make it live again run envflow publish --force --reason \"why\"");
    }
    operation.updates.push_back(git::RefUpdate{model::k_live_ref, live_id, at_head->tag_id});
    result.outcome = PublishResult::Outcome::republished;
    result.tag = at_head->tag;
    if (!options.dry_run) {
      session.apply(operation);
    }
    return result;
  }
  if (options.no_sign && config.release_sign) {
    throw util::Refused("the policy requires signed releases (release.sign: true in envflow.yaml); "
                        "drop --no-sign and set up a signing key");
  }
  ReleaseRequest request;
  request.commit = head;
  request.bump = options.bump;
  request.exact = options.exact;
  request.message = options.message;
  request.sign = !options.no_sign;
  request.dry_run = options.dry_run;
  request.actor = session.actor();
  request.expected_live = live_id;
  const PreparedRelease prepared = prepare_release(repo, pipeline, request);
  result.outcome = PublishResult::Outcome::published;
  result.tag = prepared.tag;
  result.bump = prepared.bump;
  result.notes = prepared.notes;
  if (options.dry_run) {
    return result; // nothing written: no tag object, no ref moved
  }
  operation.updates = prepared.updates;
  session.apply(operation);
  return result;
}

VerifyResult verify_release(const model::Pipeline& pipeline, const std::string& tag_name) {
  VerifyResult result;
  result.tag = tag_name;
  const auto id = pipeline.refs.target(model::tag_ref(tag_name));
  if (!id) {
    unknown_release(pipeline, tag_name);
  }
  const auto tag = pipeline.repo.tag(*id);
  if (!tag) {
    result.problems.push_back(tag_name + " is a lightweight tag, not an annotated release tag");
    result.manifest_ok = false;
    return result;
  }
  result.problems = release_problems(pipeline, *tag, tag_name, &result);
  return result;
}

RollbackResult rollback(pipeline::Session& session, const std::string& tag,
                        const std::string& reason) {
  const policy::PipelineConfig& config = session.config();
  const model::Pipeline pipeline = session.pipeline();
  require_publisher(config, session.actor(), "roll back");
  const auto id = pipeline.refs.target(model::tag_ref(tag));
  const auto tag_info = id ? pipeline.repo.tag(*id) : std::nullopt;
  if (!tag_info) {
    unknown_release(pipeline, tag);
  }
  // The rulebook's test, so the CLI refuses what the server would.
  if (const auto problems = release_blockers(pipeline, *tag_info, tag); !problems.empty()) {
    throw util::Refused("refusing to roll back to " + tag + ": it does not verify:\n  " +
                        util::join(problems, "\n  "));
  }
  const auto live = pipeline.live();
  RollbackResult result;
  result.tag = tag;
  const auto from = live ? release_by_tag_id(pipeline, *live) : std::nullopt;
  result.previous_live = from ? from->tag : "";
  if (live == id) {
    result.noop = true;
    return result;
  }
  pipeline::Operation operation;
  operation.reason = reason;
  operation.updates.push_back(git::RefUpdate{model::k_live_ref, live, *id});
  const auto to = release_by_tag_id(pipeline, *id);
  if (from && to && to->version < from->version) {
    // A rollback holds the last environment: auto-promotion must not bring
    // the rolled-back content straight back.
    records::Hold hold;
    hold.env = config.last().name;
    hold.kind = records::Hold::Kind::rollback;
    hold.actor = session.actor();
    hold.time = util::now();
    hold.reason = "live " + from->tag + " -> " + tag;
    hold.commit = to->commit;
    git::RefUpdate held = stage_hold(session.repo(), hold);
    // The same rollback again within the same second (after going forward
    // meanwhile) makes the very hold commit already in force: it holds
    // production still, so there is nothing to create.
    if (pipeline.refs.target(held.name) != held.target) {
      operation.updates.push_back(std::move(held));
    }
    result.hold = hold;
  }
  session.apply(operation);
  return result;
}

} // namespace envflow::core::release
