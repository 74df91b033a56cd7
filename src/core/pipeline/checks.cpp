#include "core/pipeline/checks.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "content/yaml.h"
#include "content/yaml_writer.h"
#include "core/pipeline/session.h"
#include "core/records/overrides.h"
#include "core/release/release.h"
#include "core/release/render.h"
#include "util/crypto.h"
#include "util/enum_names.h"
#include "util/error.h"
#include "util/process.h"
#include "util/strings.h"
#include "util/time.h"

namespace envflow::core::pipeline {

namespace {

std::string tail(const std::string& text, size_t max) {
  if (text.size() <= max) {
    return text;
  }
  size_t start = text.size() - max;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
    ++start; // do not start inside a UTF-8 sequence
  }
  return text.substr(start);
}

git::Person check_person(const std::string& actor) {
  return git::Person{actor, actor.find('@') != std::string::npos ? actor : "envflow@localhost"};
}

// A temporary file holding `text`, removed when this goes.
class TempFile {
public:
  explicit TempFile(const std::string& text) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                          "/envflow-bundle-XXXXXX.json";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const int fd = mkstemps(buffer.data(), 5);
    if (fd < 0) {
      throw util::IoError("cannot make a temporary file in " + pattern);
    }
    m_path = buffer.data();
    size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = write(fd, text.data() + written, text.size() - written);
      if (n <= 0) {
        close(fd);
        unlink(m_path.c_str());
        throw util::IoError("cannot write " + m_path);
      }
      written += static_cast<size_t>(n);
    }
    close(fd);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { unlink(m_path.c_str()); }
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

} // namespace

std::string CheckResult::outcome() const {
  if (passed()) {
    return "passed";
  }
  if (timed_out) {
    return "failed (timed out after " + std::to_string(duration_ms / 1000) + " s)";
  }
  if (exit_status < 0) {
    return "failed (could not run, or was killed)";
  }
  return "failed (exit " + std::to_string(exit_status) + ")";
}

nlohmann::json CheckResult::to_json() const {
  return {{"env", env},
          {"commit", commit},
          {"check", name},
          {"command", command},
          {"from", from.empty() ? nlohmann::json(nullptr) : nlohmann::json(from)},
          {"passed", passed()},
          {"exit_status", exit_status},
          {"timed_out", timed_out},
          {"duration_ms", duration_ms},
          {"bundle_digest", bundle_digest},
          {"actor", actor},
          {"time", util::iso_time(time)},
          {"output", output},
          {"id", id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id)},
          {"signed", !signature.empty()}};
}

std::string CheckResult::to_yaml() const {
  using content::Quote;
  content::YamlWriter out;
  out.comment("envflow check result (written by envflow check; see docs/checks.md)");
  out.begin_map();
  out.key("env").string(env, Quote::always);
  out.key("commit").string(commit, Quote::always);
  out.key("check").string(name, Quote::always);
  out.key("command").string(command, Quote::always);
  out.key("from").string(from, Quote::always);
  out.key("exit_status").integer(exit_status);
  out.key("timed_out").boolean(timed_out);
  out.key("duration_ms").integer(duration_ms);
  out.key("bundle_digest").string(bundle_digest, Quote::always);
  out.key("actor").string(actor, Quote::always);
  out.key("time").string(util::iso_time(time), Quote::always);
  out.key("output").string(output, Quote::always);
  out.end_map();
  return out.text();
}

std::optional<CheckResult> CheckResult::parse(const std::string& text) {
  if (text.size() > 4 * k_check_output_max + 4096) {
    return std::nullopt;
  }
  const content::YamlResult loaded = content::load_yaml(text, k_check_result_file);
  if (!loaded.value || !loaded.diagnostics.empty() || !loaded.value->is_mapping()) {
    return std::nullopt;
  }
  const content::Value& root = *loaded.value;
  const auto integer = [&](const char* key) -> std::optional<std::int64_t> {
    const content::Value* v = root.find(key);
    if (v == nullptr || v->type != content::Value::Type::integer) {
      return std::nullopt;
    }
    return v->integer;
  };
  CheckResult r;
  r.env = root.string_at("env");
  r.commit = root.string_at("commit");
  r.name = root.string_at("check");
  r.command = root.string_at("command");
  r.from = root.string_at("from");
  r.bundle_digest = root.string_at("bundle_digest");
  r.actor = root.string_at("actor");
  r.time = util::parse_iso_time(root.string_at("time"));
  r.output = root.string_at("output");
  const auto status = integer("exit_status");
  const auto duration = integer("duration_ms");
  const content::Value* timed_out = root.find("timed_out");
  if (!status || !duration || *status < -1 || *status > 255 || *duration < 0 ||
      timed_out == nullptr || timed_out->type != content::Value::Type::boolean) {
    return std::nullopt;
  }
  r.exit_status = static_cast<int>(*status);
  r.duration_ms = *duration;
  r.timed_out = timed_out->string == "true";
  if (r.env.empty() || r.commit.empty() || r.name.empty() || r.actor.empty() || r.time == 0 ||
      !util::starts_with(r.bundle_digest, "sha256:") || r.output.size() > k_check_output_max ||
      r.to_yaml() != text) {
    return std::nullopt;
  }
  return r;
}

std::optional<CheckResult> read_check_result(const git::Repository& repo, const std::string& id) {
  try {
    const git::CommitInfo info = repo.commit(id);
    if (!info.parents.empty()) {
      return std::nullopt;
    }
    const auto files = repo.list_tree(info.tree);
    const git::TreeEntry* yaml = nullptr;
    const git::TreeEntry* sig = nullptr;
    for (const auto& file : files) {
      if (file.mode != git::Mode::regular) {
        return std::nullopt;
      }
      if (file.path == k_check_result_file && file.size <= 4 * k_check_output_max + 4096) {
        yaml = &file;
      } else if (file.path == k_check_signature_file && file.size <= 16384) {
        sig = &file;
      } else {
        return std::nullopt;
      }
    }
    if (yaml == nullptr) {
      return std::nullopt;
    }
    auto result = CheckResult::parse(repo.read_blob(yaml->id));
    if (result) {
      result->id = id;
      if (sig != nullptr) {
        result->signature = repo.read_blob(sig->id);
      }
    }
    return result;
  } catch (const util::Error&) {
    return std::nullopt;
  }
}

bool check_signatures_required(const policy::PipelineConfig& config) {
  return config.release_sign && !config.release_allowed_signers.empty();
}

nlohmann::json candidate_bundle(const model::Pipeline& pipeline, const policy::Environment& env,
                                const std::string& commit) {
  release::RenderAt at;
  at.commit = commit;
  return render_bundle(pipeline, env.name, at);
}

std::string bundle_digest(const nlohmann::json& bundle) {
  nlohmann::json copy = bundle;
  copy.erase("generated_by");
  return "sha256:" + util::sha256_hex(release::bundle_text(copy));
}

std::string CheckState::state_name() const {
  static constexpr auto k_names = std::to_array<util::EnumName<State>>({{State::passed, "passed"},
                                                                        {State::failed, "failed"},
                                                                        {State::stale, "stale"},
                                                                        {State::missing, "missing"}});
  return std::string(util::name_of(k_names, state, "missing"));
}

std::vector<CheckState> check_states(const model::Pipeline& pipeline,
                                     const policy::Environment& env, const std::string& commit,
                                     const std::string& digest) {
  std::vector<CheckState> states;
  for (const auto& check : env.checks) {
    CheckState s;
    s.name = check.name;
    const std::string ref = model::check_ref(env.name, commit, check.name);
    if (const auto id = pipeline.refs.target(ref)) {
      s.result = read_check_result(pipeline.repo, *id);
      if (s.result && (s.result->env != env.name || s.result->commit != commit ||
                       s.result->name != check.name)) {
        s.result.reset(); // not the result its ref names: as good as none
      }
    }
    if (!s.result) {
      s.state = CheckState::State::missing;
    } else if (s.result->bundle_digest != digest) {
      s.state = CheckState::State::stale;
    } else {
      s.state = s.result->passed() ? CheckState::State::passed : CheckState::State::failed;
    }
    states.push_back(std::move(s));
  }
  return states;
}

std::vector<std::string> check_blockers(const model::Pipeline& pipeline,
                                        const policy::Environment& env, const std::string& commit) {
  std::vector<std::string> lines;
  if (env.checks.empty()) {
    return lines;
  }
  const std::string digest = bundle_digest(candidate_bundle(pipeline, env, commit));
  for (const auto& s : check_states(pipeline, env, commit, digest)) {
    switch (s.state) {
    case CheckState::State::passed:
      break;
    case CheckState::State::failed: {
      std::string line = "check " + s.name + " failed on " + model::short_id(commit) + ": " +
                         s.result->outcome() + " (run by " + s.result->actor + " at " +
                         util::iso_time(s.result->time) + ")";
      const std::string last(util::trim(tail(s.result->output, 300)));
      if (!last.empty()) {
        line += "; its output ends:\n    " + util::join(util::split(last, '\n'), "\n    ");
      }
      lines.push_back(line);
      break;
    }
    case CheckState::State::stale:
      lines.push_back("check " + s.name + " ran on another bundle of " + model::short_id(commit) +
                      " (" + s.result->bundle_digest.substr(0, 19) + ", now " +
                      digest.substr(0, 19) + ": the local data changed since); run it again");
      break;
    case CheckState::State::missing:
      lines.push_back("check " + s.name + " has no result for " + model::short_id(commit));
      break;
    }
  }
  return lines;
}

bool CheckReport::ok() const {
  return std::all_of(runs.begin(), runs.end(),
                     [](const CheckRun& run) { return run.result.passed(); });
}

std::string candidate_commit(Session& session, const model::Pipeline& pipeline,
                             const policy::Environment& source, const std::string& rev) {
  if (rev.empty()) {
    return pipeline.require_head(source);
  }
  const auto resolved = session.repo().resolve_commit(rev);
  if (!resolved) {
    throw util::UsageError("unknown revision '" + rev + "'");
  }
  return *resolved;
}

CheckReport run_checks(Session& session, const std::string& env, const std::string& rev) {
  const policy::PipelineConfig& config = session.config();
  const policy::Environment& target = records::require_environment(config, env);
  const int index = config.index_of(target.name);
  if (index == 0) {
    throw util::UsageError(target.name + " is the first environment: nothing is promoted into it, "
                                         "so it has no checks");
  }
  if (target.checks.empty()) {
    throw util::UsageError(target.name + " has no checks (add them under checks: in the policy, "
                                         "envflow config edit; see docs/checks.md)");
  }
  const policy::Environment& source = config.environments[static_cast<size_t>(index - 1)];
  const model::Pipeline pipeline = session.pipeline();
  CheckReport report;
  report.env = target.name;
  report.source = source.name;
  report.commit = candidate_commit(session, pipeline, source, rev);
  const std::string from = pipeline.head(target).value_or("");
  const nlohmann::json bundle = candidate_bundle(pipeline, target, report.commit);
  report.digest = bundle_digest(bundle);
  const TempFile file(release::bundle_text(bundle));
  const std::string cwd = session.repo().root();
  const auto states = check_states(pipeline, target, report.commit, report.digest);
  Operation clear;   // results this run replaces
  Operation record;  // the new results
  for (size_t i = 0; i < target.checks.size(); ++i) {
    const policy::Check& check = target.checks[i];
    const CheckState& state = states[i];
    CheckRun run;
    if (state.state == CheckState::State::passed) {
      run.result = *state.result;
      report.runs.push_back(std::move(run));
      continue;
    }
    util::BoundedRun limits;
    limits.cwd = cwd;
    limits.timeout_seconds = check.timeout_seconds;
    limits.max_output = k_check_output_max;
    limits.env = {{"ENVFLOW_BUNDLE", file.path()},
                  {"ENVFLOW_ENV", target.name},
                  {"ENVFLOW_COMMIT", report.commit},
                  {"ENVFLOW_FROM", from}};
    const util::BoundedResult ran = util::run_bounded(check.run, limits);
    CheckResult& r = run.result;
    r.env = target.name;
    r.commit = report.commit;
    r.name = check.name;
    r.command = check.command();
    r.from = from;
    r.exit_status = ran.exit_code;
    r.timed_out = ran.timed_out;
    r.duration_ms = ran.duration_ms;
    r.bundle_digest = report.digest;
    r.actor = session.actor();
    r.time = util::now();
    r.output = tail(ran.output, k_check_output_max);
    if (r.output.size() > k_check_output_max) {
      r.output = r.output.substr(r.output.size() - k_check_output_max);
    }
    if (r.timed_out) {
      r.output = tail(r.output + "\n[envflow: stopped after " +
                          std::to_string(check.timeout_seconds) + " s]",
                      k_check_output_max);
    }
    git::Repository& repo = session.repo();
    const std::string yaml = r.to_yaml();
    std::map<std::string, git::NewFile> files{
        {k_check_result_file, git::NewFile{repo.write_blob(yaml), git::Mode::regular}}};
    if (check_signatures_required(config)) {
      r.signature = release::sign_as_release_signer(repo, config, yaml);
      files[k_check_signature_file] = git::NewFile{repo.write_blob(r.signature), git::Mode::regular};
    }
    const std::string tree = repo.write_tree(files);
    r.id = repo.write_commit(
        tree, {}, "envflow check " + target.name + " " + check.name + ": " + r.outcome() + "\n",
        check_person(r.actor), r.time);
    const std::string ref = model::check_ref(target.name, report.commit, check.name);
    if (const auto old = pipeline.refs.target(ref)) {
      clear.updates.push_back(git::RefUpdate{ref, *old, std::nullopt});
    }
    record.updates.push_back(git::RefUpdate{ref, std::nullopt, r.id});
    run.ran = true;
    report.runs.push_back(std::move(run));
  }
  if (!clear.updates.empty()) {
    clear.reason = "replaced by a new run";
    session.apply(clear);
  }
  if (!record.updates.empty()) {
    session.apply(record);
  }
  return report;
}

} // namespace envflow::core::pipeline
