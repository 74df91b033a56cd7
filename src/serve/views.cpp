#include "serve/views.h"

#include <algorithm>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/refs.h"
#include "core/records/approvals.h"
#include "git/repo.h"
#include "serve/html.h"
#include "serve/policy.h"
#include "util/error.h"
#include "util/json.h"
#include "util/time.h"

namespace envflow::serve {

namespace {

// How much of a long list a page shows; the rest is one command away.
constexpr std::size_t k_max_commits = 50;
constexpr std::size_t k_max_items = 200;
constexpr std::size_t k_max_value = 2000;
constexpr std::size_t k_recent_records = 8;
constexpr std::size_t k_log_page = 200;

using Json = nlohmann::json;

std::string str(const Json& value) {
  return value.is_string() ? value.get<std::string>() : std::string();
}

std::string dump(const Json& value) {
  return util::dump_json(value, -1, util::BadUtf8::replace);
}

// A content value in a cell: strings as they are, anything else as JSON;
// cut at k_max_value characters (the rest: envflow diff --values).
std::string value_html(const Json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : dump(value);
  std::string more;
  if (text.size() > k_max_value) {
    text.resize(k_max_value);
    more = "<span class=\"more\">… (cut)</span>";
  }
  const char* type = value.is_string() ? "string" : value.is_null() ? "null" : "json";
  return "<code class=\"value value-" + std::string(type) + "\">" + escape(text) + "</code>" + more;
}

std::string commit_html(const std::string& id) {
  if (id.empty()) {
    return "<span class=\"missing\">(missing)</span>";
  }
  return "<code class=\"id\" title=\"" + escape(id) + "\">" + escape(core::model::short_id(id)) +
         "</code>";
}

std::string badge(const std::string& text, const std::string& kind) {
  return "<span class=\"badge badge-" + kind + "\">" + escape(text) + "</span>";
}

// A form the page's script sends to `url` (POST, JSON body of its fields,
// CSRF header). Without the script it is hidden (.no-js) and would only
// reload the page: nothing acts without the token.
std::string action_form(const std::string& action, const std::string& url,
                        const std::string& label, const std::string& fields = "",
                        const std::string& style = "primary") {
  return "<form class=\"act\" data-action=\"" + escape(action) + "\" data-url=\"" + escape(url) +
         "\">" + fields + "<button type=\"submit\" class=\"btn btn-" + style + "\">" +
         escape(label) + "</button></form>";
}

std::string text_field(const std::string& name, const std::string& label,
                       const std::string& value = "", const std::string& extra = "") {
  return "<label class=\"field\"><span>" + escape(label) + "</span><input type=\"text\" name=\"" +
         escape(name) + "\" value=\"" + escape(value) + "\"" + extra + "></label>";
}

std::string change_sign(const std::string& change) {
  return change == "added" ? "+" : change == "removed" ? "−" : change == "renamed" ? "R" : "~";
}

// The semantic changes of `diff` (envflow diff FROM TO --values), old -> new
// values, as a table; the page's script draws the same from GET /api/diff.
std::string changes_html(const Json& diff, const std::string& from, const std::string& to) {
  std::string out;
  // A rename is one row, on its removed side (as envflow diff shows it).
  std::vector<const Json*> items;
  for (const Json& item : diff["items"]) {
    if (!item.contains("renamed_from")) {
      items.push_back(&item);
    }
  }
  if (items.empty()) {
    out += "<p class=\"quiet\">No semantic changes (only files outside the content).</p>";
  } else {
    out += "<p class=\"changes-summary quiet\">" + escape(str(diff["summary"])) + "</p>";
    out += "<table class=\"changes\"><thead><tr><th></th><th>Kind</th><th>Item</th><th>Field</th>"
           "<th>Before</th><th>After</th></tr></thead><tbody>";
    std::size_t shown = 0;
    for (const Json* listed : items) {
      if (++shown > k_max_items) {
        break;
      }
      const Json& item = *listed;
      const Json* renamed_to = item.contains("renamed_to") ? &item["renamed_to"] : nullptr;
      const std::string change = renamed_to != nullptr ? "renamed" : str(item["change"]);
      std::string head = "<td class=\"sign\">" + change_sign(change) + "</td><td>" +
                         escape(str(item["kind"])) + "</td><td><span class=\"item\">" +
                         escape(str(item["name"])) +
                         (renamed_to != nullptr ? " → " + escape(str((*renamed_to)["name"])) : "") +
                         "</span> <span class=\"path\">" + escape(str(item["path"])) +
                         (renamed_to != nullptr ? " → " + escape(str((*renamed_to)["path"])) : "") +
                         "</span>";
      if (item.value("breaking", false)) {
        head += " " + badge("breaking", "danger") + " <span class=\"reason\">" +
                escape(str(item["reason"])) + "</span>";
      }
      head += "</td>";
      const Json values = item.value("values", Json::array());
      const std::string row_class = "change-" + change;
      if (values.empty()) {
        std::string fields;
        for (const Json& f : item["fields"]) {
          fields += (fields.empty() ? "" : ", ") + str(f);
        }
        out += "<tr class=\"" + row_class + "\">" + head + "<td>" + escape(fields) +
               "</td><td colspan=\"2\" class=\"quiet\">" + escape(change) + "</td></tr>";
        continue;
      }
      bool first = true;
      for (const Json& v : values) {
        out += "<tr class=\"" + row_class + "\">" +
               (first ? head : std::string("<td></td><td></td><td></td>")) + "<td><code>" +
               escape(str(v["field"])) + "</code></td><td>" +
               (v.contains("before") ? value_html(v["before"])
                                     : std::string("<span class=\"quiet\">(none)</span>")) +
               "</td><td>" +
               (v.contains("after") ? value_html(v["after"])
                                    : std::string("<span class=\"quiet\">(none)</span>")) +
               "</td></tr>";
        first = false;
      }
    }
    out += "</tbody></table>";
    if (items.size() > k_max_items) {
      out += "<p class=\"more\">and " + std::to_string(items.size() - k_max_items) +
             " more: <code>envflow diff " + escape(core::model::short_rev(from)) + " " +
             escape(core::model::short_rev(to)) + " --values</code></p>";
    }
  }
  return out;
}

// The commits that wait between `from` (the next environment's head) and
// `to` (this one's), and where their semantic changes go. The changes are
// not drawn here: `envflow diff --values` reads both sides of every changed
// file and is the slowest document of the page, so the page's script loads
// them from GET /api/diff once the page is shown; without the script, a
// link opens them on a page of their own (/diff).
std::string waiting_details(const ViewContext& c, const std::string& id, const std::string& from,
                            const std::string& to, const std::string& summary) {
  std::string out = "<details class=\"waiting-details\" id=\"" + escape(id) + "\"><summary>" +
                    escape(summary) + "</summary>";
  const std::vector<std::string> commits = c.repo.commits_between(from, to);
  out += "<h4>Commits</h4><ol class=\"commits\">";
  for (std::size_t i = 0; i < commits.size() && i < k_max_commits; ++i) {
    const git::CommitInfo info = c.repo.commit(commits[i]);
    out += "<li>" + commit_html(info.id) + " <span class=\"summary\">" + escape(info.summary) +
           "</span> <span class=\"author\">" + escape(info.author.name) + "</span></li>";
  }
  out += "</ol>";
  if (commits.size() > k_max_commits) {
    out += "<p class=\"more\">and " + std::to_string(commits.size() - k_max_commits) +
           " more: <code>git log " + escape(core::model::short_rev(from)) + ".." +
           escape(core::model::short_rev(to)) + "</code></p>";
  }
  const std::string page = "/diff?from=" + url_encode(from) + "&to=" + url_encode(to);
  out += "<h4>Changes</h4><div class=\"changes-lazy\" data-from=\"" + escape(from) +
         "\" data-to=\"" + escape(to) + "\" data-state=\"loading\">"
         "<p class=\"changes-loading quiet\">Loading the changes…</p>"
         "<p class=\"changes-page\"><a href=\"" + escape(page) +
         "\">Show the changes, with old and new values</a></p></div>";
  return out + "</details>";
}

bool can_act(const ViewContext& c) { return !c.read_only && !c.actor.empty(); }

std::string hold_html(const ViewContext& c, const std::string& env, const Json& hold) {
  std::string out;
  const bool may_hold = can_act(c) && may(c.config, c.actor, Right::hold, env);
  if (hold.is_object()) {
    out += "<div class=\"hold\"><p>" + badge("held", "warning") + " Auto-promotion into " +
           escape(env) + " is held (" + escape(str(hold["kind"])) + " by " +
           escape(str(hold["actor"])) + ", " + escape(str(hold["time"])) + "): " +
           escape(str(hold["reason"])) + "</p>";
    if (may_hold) {
      out += action_form("hold-release", "/api/hold/" + url_encode(env) + "/release",
                         "Release the hold", text_field("reason", "Why (optional)"), "secondary");
    }
    return out + "</div>";
  }
  if (may_hold) {
    out += "<details class=\"hold-form\" id=\"hold-" + escape(env) +
           "\"><summary>Hold auto-promotion…</summary>" +
           action_form("hold", "/api/hold/" + url_encode(env), "Hold " + env,
                       text_field("reason", "Why", "", " required"), "warning") +
           "</details>";
  }
  return out;
}

std::string publish_html(const ViewContext& c, const Json& status, const Json& last) {
  std::string out = "<div class=\"live-release\"><h3>Live</h3>";
  const Json& live = status["live"];
  const std::string head = str(last["head"]);
  const std::string live_commit = str(status["live_commit"]);
  if (live.is_string()) {
    out += "<p>" + badge(str(live), "live") + " at " + commit_html(live_commit);
    if (!head.empty() && live_commit != head) {
      out += " · " + badge("head ahead of live", "warning");
    }
    out += " · <a href=\"/releases\">release history</a></p>";
  } else {
    out += "<p class=\"quiet\">Nothing is live yet.</p>";
  }
  if (can_act(c) && may(c.config, c.actor, Right::publish) && !head.empty() &&
      live_commit != head) {
    const std::string fields =
        "<label class=\"field\"><span>Version bump</span><select name=\"bump\">"
        "<option value=\"auto\" selected>auto (from the changes)</option>"
        "<option value=\"patch\">patch</option><option value=\"minor\">minor</option>"
        "<option value=\"major\">major</option></select></label>" +
        text_field("message", "Release message (optional)") +
        (c.config.release_sign ? std::string()
                               : std::string("<label class=\"field check\"><input type=\"checkbox\" "
                                             "name=\"no_sign\"><span>Unsigned (the policy "
                                             "allows it)</span></label>")) +
        "<label class=\"field check\"><input type=\"checkbox\" name=\"force\"><span>Make a "
        "rolled-back head live again</span></label>" +
        text_field("reason", "Why (with the box above)");
    out += "<details class=\"publish-form\" id=\"publish\"><summary>Publish " +
           escape(str(last["name"])) + " " + escape(core::model::short_id(head)) + "…</summary>" +
           "<p>Tags " + commit_html(head) + " as a signed release and makes it live.</p>" +
           action_form("publish", "/api/publish", "Publish", fields, "danger") + "</details>";
  }
  return out + "</div>";
}

std::string record_moves(const Json& record) {
  std::string out;
  for (const Json& move : record["moves"]) {
    std::string ref = str(move["ref"]);
    for (const char* prefix : {"refs/heads/", "refs/tags/", "refs/"}) {
      if (ref.starts_with(prefix)) {
        ref = ref.substr(std::string(prefix).size());
        break;
      }
    }
    const std::string old_id = str(move["old"]);
    const std::string new_id = str(move["new"]);
    const bool created = old_id == git::k_zero_id;
    const bool deleted = new_id == git::k_zero_id;
    out += (out.empty() ? "" : ", ") + ref + " " +
           (created   ? "+" + core::model::short_id(new_id)
            : deleted ? "−" + core::model::short_id(old_id)
                      : core::model::short_id(old_id) + ".." + core::model::short_id(new_id));
  }
  return out.empty() ? "-" : out;
}

std::string log_rows(const Json& records, std::size_t limit) {
  std::string out;
  std::size_t shown = 0;
  for (auto it = records.rbegin(); it != records.rend() && shown < limit; ++it, ++shown) {
    const Json& r = *it;
    out += "<tr class=\"op-" + escape(str(r["op"])) + "\"><td><time>" + escape(str(r["time"])) +
           "</time></td><td>" + escape(str(r["op"])) + "</td><td>" +
           escape(r["env"].is_string() ? str(r["env"]) : "-") + "</td><td class=\"actor\">" +
           escape(str(r["actor"])) + "</td><td class=\"moves\">" + escape(record_moves(r)) +
           "</td><td>" + escape(str(r["note"])) + "</td></tr>";
  }
  return out;
}

std::string log_table(const Json& records, std::size_t limit) {
  return "<table class=\"log\"><thead><tr><th>Time (UTC)</th><th>Operation</th><th>Env</th>"
         "<th>Actor</th><th>Moves</th><th>Note</th></tr></thead><tbody>" +
         log_rows(records, limit) + "</tbody></table>";
}

} // namespace

std::string navigation(const std::string& current) {
  static const std::pair<const char*, const char*> k_pages[] = {
      {"/", "Pipeline"},
      {"/releases", "Releases"},
      {"/backports", "Back-ports"},
      {"/variables", "Variables"},
      {"/log", "Audit log"},
  };
  std::string out;
  for (const auto& [path, label] : k_pages) {
    out += std::string("<a href=\"") + path + "\"" +
           (current == path ? " aria-current=\"page\"" : "") + ">" + label + "</a>";
  }
  return out;
}

std::string identity_text(const core::policy::PipelineConfig* config, const std::string& actor,
                          bool read_only, const std::string& identity_header) {
  if (actor.empty()) {
    return "<span class=\"who who-nobody\">" +
           escape(identity_header.empty()
                      ? "read only: who is acting is unknown (envflow serve --actor NAME)"
                      : "read only: the proxy named nobody (" + identity_header + ")") +
           "</span>";
  }
  std::string groups;
  if (config != nullptr) {
    for (const auto& [group, members] : config->groups) {
      if (config->member(actor, {group})) {
        groups += (groups.empty() ? "" : ", ") + group;
      }
    }
  }
  std::string out = "<span class=\"who\"><span class=\"actor\">" + escape(actor) + "</span>";
  if (!groups.empty()) {
    out += " <span class=\"groups\">· " + escape(groups) + "</span>";
  }
  if (read_only) {
    out += " " + badge("read only", "quiet");
  }
  return out + "</span>";
}

View pipeline_view(const ViewContext& c) {
  // Both documents at once: the page waits for the slower, not for both.
  // The log's newest records only: the page costs the same after a year.
  std::vector<Json> documents = c.commands.read_all(
      {{"status"}, {"log", "--max-count=" + std::to_string(k_recent_records)}});
  const Json& status = documents[0];
  const Json& envs = status["environments"];
  std::string out;

  // The strip: the whole pipeline on one line.
  out += "<ol class=\"strip\" aria-label=\"Pipeline\">";
  for (std::size_t i = 0; i < envs.size(); ++i) {
    const Json& e = envs[i];
    std::string state = "ok";
    std::string line = "in sync";
    if (!e["problems"].empty()) {
      state = "broken";
      line = "broken";
    } else if (e["hold"].is_object()) {
      state = "held";
      line = "held";
    } else if (i > 0 && envs[i - 1]["waiting"].value("commits", 0) > 0) {
      state = "waiting";
      line = std::to_string(envs[i - 1]["waiting"].value("commits", 0)) + " waiting";
    }
    if (i == 0) {
      line = str(e["summary"]);
    }
    if (i + 1 == envs.size() && status["live"].is_string()) {
      line += " · live " + str(status["live"]);
    }
    out += "<li class=\"stage state-" + state + "\"><a href=\"#env-" + escape(str(e["name"])) +
           "\"><span class=\"name\">" + escape(str(e["name"])) + "</span>" +
           commit_html(str(e["head"])) + "<span class=\"state\">" + escape(line) +
           "</span></a></li>";
  }
  out += "</ol>";

  if (status.value("open_backports", 0) > 0) {
    const int n = status["open_backports"].get<int>();
    out += "<p class=\"banner banner-warning\">" + std::to_string(n) + " open back-port" +
           (n == 1 ? "" : "s") + ": nothing goes into " + escape(c.config.last().name) +
           " until " + (n == 1 ? "it is" : "they are") +
           " brought into " + escape(c.config.first().name) +
           ". <a href=\"/backports\">See the back-ports</a></p>";
  }

  out += "<div class=\"envs\">";
  for (std::size_t i = 0; i < envs.size(); ++i) {
    const Json& e = envs[i];
    const std::string name = str(e["name"]);
    const std::string head = str(e["head"]);
    out += "<section class=\"env\" id=\"env-" + escape(name) + "\" data-env=\"" + escape(name) +
           "\" data-head=\"" + escape(head) + "\"><header><h2>" + escape(name) +
           "</h2><span class=\"branch\">branch <code>" + escape(str(e["branch"])) + "</code></span>";
    if (e.value("auto", false)) {
      out += " " + badge("auto", "info");
    }
    out += "</header><p class=\"head\">" + commit_html(head) + " <span class=\"summary\">" +
           escape(str(e["summary"])) + "</span></p>";
    for (const Json& p : e["problems"]) {
      out += "<p class=\"problem\">" + badge("broken", "danger") + " " + escape(str(p)) +
             " — <code>envflow doctor</code> says how to mend it</p>";
    }
    for (const Json& n : e["notes"]) {
      out += "<p class=\"note\">" + escape(str(n)) + "</p>";
    }
    if (e["next"].is_string()) {
      const std::string next = str(e["next"]);
      const Json& waiting = e["waiting"];
      const int commits = waiting.value("commits", 0);
      out += "<div class=\"promotion\"><h3>→ " + escape(next) + "</h3>";
      if (commits == 0) {
        out += "<p class=\"in-sync\">" + escape(next) + " is in sync with " + escape(name) +
               ".</p>";
      } else {
        out += "<p class=\"waiting\"><strong>" + std::to_string(commits) + " commit" +
               (commits == 1 ? "" : "s") + "</strong> wait to go into " + escape(next) +
               ": <span class=\"counts\">+" + std::to_string(waiting.value("added", 0)) + " ~" +
               std::to_string(waiting.value("changed", 0)) + " −" +
               std::to_string(waiting.value("removed", 0)) + "</span>";
        if (waiting.value("breaking", false)) {
          out += " " + badge("breaking", "danger");
        }
        out += "</p>";
        const int required = e["approvals"].value("required", 0);
        const core::policy::Environment& next_env = c.config.environments[i + 1];
        const std::vector<std::string> approvers =
            core::records::approvals_for(c.pipeline, next_env, head);
        if (required > 0) {
          std::string names;
          for (const auto& a : approvers) {
            names += (names.empty() ? "" : ", ") + a;
          }
          out += "<p class=\"approvals\">Approvals: <strong>" +
                 escape(core::records::approvals_text(approvers.size(), required)) + "</strong>" +
                 (names.empty() ? std::string() : " (" + escape(names) + ")") + "</p>";
        }
        // Verification checks of the promotion into `next` (envflow check), as status says.
        if (const auto it = e.find("checks"); it != e.end() && it->is_array() && !it->empty()) {
          out += "<p class=\"checks\">Checks into " + escape(next) + ":";
          for (const auto& check : *it) {
            const std::string state = str(check["state"]);
            out += " " + badge(str(check["name"]) + ": " + state,
                               state == "passed"   ? "ok"
                               : state == "failed" ? "danger"
                                                   : "warning");
          }
          out += " <span class=\"quiet\">(run them with <code>envflow check " + escape(next) +
                 "</code>)</span></p>";
        }
        std::string buttons;
        if (can_act(c) && may(c.config, c.actor, Right::promote, next)) {
          // The commit shown is the one promoted, even if more arrives
          // before the press (envflow sync ENV --rev HEAD).
          buttons += action_form("sync", "/api/sync/" + url_encode(name),
                                 "Sync " + name + " → " + next,
                                 "<input type=\"hidden\" name=\"rev\" value=\"" + escape(head) +
                                     "\">");
        }
        if (can_act(c) && required > 0 && may(c.config, c.actor, Right::approve, next) &&
            std::find(approvers.begin(), approvers.end(), c.actor) == approvers.end()) {
          buttons += action_form(
              "approve", "/api/approve/" + url_encode(next),
              "Approve " + core::model::short_id(head) + " into " + next,
              "<input type=\"hidden\" name=\"rev\" value=\"" + escape(head) + "\">", "secondary");
        }
        if (!buttons.empty()) {
          out += "<div class=\"buttons\">" + buttons + "</div>";
        }
        out += waiting_details(c, "what-" + name, str(envs[i + 1]["head"]), head,
                               "What waits: " + std::to_string(commits) + " commit" +
                                   (commits == 1 ? "" : "s") + ", " +
                                   std::to_string(waiting.value("added", 0) +
                                                  waiting.value("changed", 0) +
                                                  waiting.value("removed", 0)) +
                                   " changed item(s)");
      }
      out += "</div>";
    } else {
      out += publish_html(c, status, e);
    }
    if (i > 0) {
      out += hold_html(c, name, e["hold"]);
    }
    out += "</section>";
  }
  out += "</div>";

  // Recent activity: the newest records of the log.
  Json& recent = documents[1];
  if (recent.is_array() && recent.size() > k_recent_records) {
    recent = Json(recent.end() - static_cast<std::ptrdiff_t>(k_recent_records), recent.end());
  }
  out += "<section class=\"recent\"><h2>Recent activity</h2>" + log_table(recent, k_recent_records) +
         "<p><a href=\"/log\">The whole audit log</a></p></section>";
  return {"Pipeline", out};
}

View diff_view(const ViewContext& c) {
  const auto from = c.query.find("from");
  const auto to = c.query.find("to");
  if (from == c.query.end() || to == c.query.end() || from->second.empty() ||
      to->second.empty()) {
    throw util::UsageError("/diff?from=A&to=B: both sides are needed (commits, branches or tags)");
  }
  const Json diff = c.commands.read({"diff", "--values", "--", from->second, to->second});
  // A commit id as the page shows ids elsewhere; a branch or tag as it is.
  const auto rev = [](const std::string& r) {
    const bool id = r.size() == 40 && r.find_first_not_of("0123456789abcdef") == std::string::npos;
    return std::pair{id ? commit_html(r) : "<code>" + escape(r) + "</code>",
                     escape(id ? core::model::short_id(r) : r)};
  };
  const auto [from_html, from_text] = rev(from->second);
  const auto [to_html, to_text] = rev(to->second);
  std::string out = "<h2>Changes from " + from_html + " to " + to_html +
                    "</h2><p class=\"quiet\">What <code>envflow diff " + from_text + " " +
                    to_text + " --values</code> shows. <a href=\"/\">Back to the pipeline</a></p>";
  return {"Changes", out + changes_html(diff, from->second, to->second)};
}

View releases_view(const ViewContext& c) {
  const Json releases = c.commands.read({"releases", "--all"});
  std::string out = "<h2>Releases</h2>";
  if (releases.empty()) {
    out += "<p class=\"quiet\">No releases yet: Publish on the pipeline page makes the first "
           "one.</p>";
    return {"Releases", out};
  }
  const bool may_roll = can_act(c) && may(c.config, c.actor, Right::rollback);
  out += "<table class=\"releases\"><thead><tr><th>Version</th><th>Date (UTC)</th><th>By</th>"
         "<th>Commit</th><th>Kind</th><th></th></tr></thead><tbody>";
  for (auto it = releases.rbegin(); it != releases.rend(); ++it) {
    const Json& r = *it;
    const std::string tag = str(r["tag"]);
    const bool live = r.value("live", false);
    out += "<tr id=\"release-" + escape(tag) + "\"" + (live ? " class=\"is-live\"" : "") +
           "><td><strong>" + escape(tag) + "</strong>" + (live ? " " + badge("live", "live") : "") +
           "</td><td>" + escape(util::iso_time(r.value("time", std::int64_t{0}))) + "</td><td>" +
           escape(str(r["tagger"])) + "</td><td>" + commit_html(str(r["commit"])) + "</td><td>" +
           (r.value("hotfix", false) ? badge("hotfix", "warning") : badge("release", "info")) +
           (r.value("signed", false) ? "" : " " + badge("unsigned", "quiet")) + "</td><td>";
    if (may_roll && !live) {
      out += "<details class=\"rollback-form\" id=\"rollback-" + escape(tag) +
             "\"><summary>Roll back to " + escape(tag) + "…</summary><p>Live goes back to " +
             escape(tag) + "; auto-promotion into " + escape(c.config.last().name) +
             " is held until someone releases the hold.</p>" +
             action_form("rollback", "/api/rollback/" + url_encode(tag), "Roll back to " + tag, "",
                         "danger") +
             "</details>";
    }
    out += "</td></tr>";
  }
  out += "</tbody></table>";
  return {"Releases", out};
}

View backports_view(const ViewContext& c) {
  const Json issues = c.commands.read({"backport", "list", "--all"});
  std::string out = "<h2>Back-ports</h2><p class=\"quiet\">A hotfix on " +
                    escape(c.config.last().name) + " opens one; it closes once the fix is in " +
                    escape(c.config.first().name) + ".</p>";
  if (issues.empty()) {
    return {"Back-ports", out + "<p>No back-port issues.</p>"};
  }
  const bool may_apply = can_act(c) && may(c.config, c.actor, Right::backport);
  out += "<table class=\"backports\"><thead><tr><th>#</th><th>Status</th><th>Hotfix</th>"
         "<th>Opened</th><th>Closed</th><th>Summary and changes</th><th></th></tr></thead><tbody>";
  for (auto it = issues.rbegin(); it != issues.rend(); ++it) {
    const Json& issue = *it;
    const bool open = str(issue["status"]) == "open";
    const std::string id = std::to_string(issue.value("id", 0));
    std::string changes;
    for (const Json& ch : issue["changes"]) {
      std::string fields;
      for (const Json& f : ch["fields"]) {
        fields += (fields.empty() ? "" : ", ") + str(f);
      }
      changes += "<li>" + change_sign(str(ch["change"])) + " " + escape(str(ch["kind"])) + " " +
                 escape(str(ch["name"])) + (fields.empty() ? "" : ": " + escape(fields)) + "</li>";
    }
    out += "<tr id=\"backport-" + id + "\" class=\"" + (open ? "is-open" : "is-closed") +
           "\"><td>" + id + "</td><td>" +
           (open ? badge("open", "warning") : badge("closed", "ok")) + "</td><td>" +
           escape(str(issue["hotfix_tag"])) + " <span class=\"quiet\">" +
           escape(str(issue["hotfix"])) + "</span></td><td>" + escape(str(issue["opened_at"])) +
           "<br>" + escape(str(issue["opened_by"])) + "</td><td>" +
           (open ? std::string("-")
                 : escape(str(issue["closed_at"])) + "<br>" + escape(str(issue["closed_by"]))) +
           "</td><td>" + escape(str(issue["summary"])) + "<ul class=\"changes-list\">" + changes +
           "</ul></td><td>";
    if (open && may_apply) {
      out += action_form("backport-apply", "/api/backport/" + id + "/apply",
                         "Bring into " + c.config.first().name, "", "secondary");
    }
    out += "</td></tr>";
  }
  out += "</tbody></table>";
  return {"Back-ports", out};
}

View variables_view(const ViewContext& c) {
  std::string env = c.query.count("env") != 0 ? c.query.at("env") : std::string();
  if (c.config.find(env) == nullptr) {
    env = c.config.last().name;
  }
  std::string out = "<h2>Variables</h2><nav class=\"tabs\" aria-label=\"Environments\">";
  for (const auto& e : c.config.environments) {
    out += "<a href=\"/variables?env=" + url_encode(e.name) + "\"" +
           (e.name == env ? " aria-current=\"page\"" : "") + ">" + escape(e.name) + "</a>";
  }
  out += "</nav>";
  Json list;
  try {
    list = c.commands.read({"var", "list", "--env", env});
  } catch (const util::Error& e) {
    return {"Variables", out + "<p class=\"problem\">" + escape(e.what()) + "</p>"};
  }
  const bool first = c.config.index_of(env) == 0;
  const bool editable = can_act(c) && may(c.config, c.actor, Right::local, env);
  out += "<p class=\"quiet\">Values " + escape(env) + " serves: the declared default, or the " +
         "override on <code>refs/envflow/local/" + escape(env) + "</code>" +
         (first ? "; the first environment takes no overrides (change the default instead)."
                : ".") +
         "</p>";
  if (list.empty()) {
    return {"Variables", out + "<p>No variables declared.</p>"};
  }
  out += "<table class=\"variables\"><thead><tr><th>Name</th><th>Type</th><th>Default</th>"
         "<th>Override</th><th>Effective</th><th>Source</th>" +
         std::string(editable ? "<th>Change</th>" : "") + "</tr></thead><tbody>";
  for (const Json& v : list) {
    const std::string name = str(v["name"]);
    const auto cell = [](const Json& value) {
      return value.is_null() ? std::string("<span class=\"quiet\">-</span>") : value_html(value);
    };
    out += "<tr id=\"var-" + escape(name) + "\"><td><code>" + escape(name) + "</code>";
    if (v["problem"].is_string()) {
      out += "<p class=\"problem\">" + escape(str(v["problem"])) + "</p>";
    }
    out += "</td><td>" + escape(v["type"].is_string() ? str(v["type"]) : "-") + "</td><td>" +
           cell(v["default"]) + "</td><td>" + cell(v["override"]) + "</td><td>" +
           cell(v["effective"]) + "</td><td>" + escape(str(v["source"])) + "</td>";
    if (editable) {
      const Json& current = v["override"];
      const std::string value =
          current.is_null() ? "" : current.is_string() ? str(current) : dump(current);
      out += "<td>" +
             action_form("var-set", "/api/var/" + url_encode(env) + "/" + url_encode(name), "Set",
                         "<input type=\"text\" name=\"value\" aria-label=\"New value of " +
                             escape(name) + "\" value=\"" + escape(value) + "\">",
                         "secondary");
      if (!current.is_null()) {
        out += action_form("var-unset",
                           "/api/var/" + url_encode(env) + "/" + url_encode(name) + "/unset",
                           "Unset", "", "secondary");
      }
      out += "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table>";
  return {"Variables", out};
}

View log_view(const ViewContext& c) {
  const auto param = [&](const char* key) {
    const auto it = c.query.find(key);
    return it == c.query.end() ? std::string() : it->second;
  };
  struct {
    std::string env, op, actor;
  } filter{param("env"), param("op"), param("by")};
  if (!filter.env.empty() && c.config.find(filter.env) == nullptr) {
    filter.env.clear();
  }
  std::size_t limit = k_log_page;
  if (const std::string l = param("limit"); !l.empty() && l.size() < 7 &&
                                            l.find_first_not_of("0123456789") == std::string::npos) {
    limit = std::max<std::size_t>(1, std::stoul(l));
  }
  // One more than shown: enough to say that there are more.
  std::vector<std::string> command{"log", "--max-count=" + std::to_string(limit + 1)};
  for (const auto& [name, value] : {std::pair{"--env", filter.env}, std::pair{"--op", filter.op},
                                    std::pair{"--by", filter.actor}}) {
    if (!value.empty()) {
      command.push_back(std::string(name) + "=" + value);
    }
  }
  const Json records = c.commands.read(command);

  std::string out = "<h2>Audit log</h2><form class=\"filters\" method=\"get\" action=\"/log\">"
                    "<label class=\"field\"><span>Environment</span><select name=\"env\">"
                    "<option value=\"\">all</option>";
  for (const auto& e : c.config.environments) {
    out += "<option" + std::string(e.name == filter.env ? " selected" : "") + " value=\"" +
           escape(e.name) + "\">" + escape(e.name) + "</option>";
  }
  out += "</select></label><label class=\"field\"><span>Operation</span><select name=\"op\">"
         "<option value=\"\">all</option>";
  static const char* k_ops[] = {"sync",       "approve",        "publish",        "rollback",
                                "hotfix",     "hold",           "hold-release",   "var-set",
                                "var-unset",  "backport-open",  "backport-apply", "backport-close",
                                "config-edit", "config-put",    "init"};
  for (const char* op : k_ops) {
    out += std::string("<option") + (filter.op == op ? " selected" : "") + ">" + op + "</option>";
  }
  out += "</select></label>" + text_field("by", "Actor", filter.actor) +
         "<button type=\"submit\" class=\"btn btn-secondary\">Filter</button></form>";
  out += "<p class=\"quiet\">" +
         (records.size() > limit ? "The newest " + std::to_string(limit) + " records shown"
                                 : std::to_string(records.size()) + " record" +
                                       (records.size() == 1 ? "" : "s")) +
         ". The same as <code>envflow log" +
         (filter.env.empty() ? "" : " --env " + escape(filter.env)) +
         (filter.op.empty() ? "" : " --op " + escape(filter.op)) +
         (filter.actor.empty() ? "" : " --by " + escape(filter.actor)) + "</code>.</p>";
  out += log_table(records, limit);
  return {"Audit log", out};
}

} // namespace envflow::serve
