#include "serve/documents.h"

#include <algorithm>
#include <filesystem>
#include <future>

#include "cli/output.h"
#include "util/error.h"
#include "util/json.h"
#include "util/process.h"

namespace envflow::serve {

namespace {

// This very binary: the page runs the commands of the envflow it was served by.
const std::string& self_path() {
  static const std::string path = std::filesystem::read_symlink("/proc/self/exe").string();
  return path;
}

// The `code` of an error object (docs/json.md), "" when `body` is none.
std::string error_code(const nlohmann::json& body) {
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    return body["error"].value("code", "");
  }
  return {};
}

} // namespace

CommandReply CommandRunner::run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{self_path(), "-C", repo_path, "--format", "json"};
  if (!actor.empty()) {
    argv.insert(argv.end(), {"--actor", actor});
  }
  if (!remote.empty()) {
    argv.insert(argv.end(), {"--remote", remote});
  }
  if (offline) {
    argv.push_back("--offline");
  }
  // --push goes before a `--` that ends the options (var set -- NAME VALUE).
  auto end_of_options = std::find(args.begin(), args.end(), "--");
  argv.insert(argv.end(), args.begin(), end_of_options);
  if (push) {
    argv.push_back("--push");
  }
  argv.insert(argv.end(), end_of_options, args.end());
  const util::ProcessResult result = util::run_process(argv);
  CommandReply reply;
  reply.exit = result.exit_code;
  reply.body = util::parse_json(result.out, util::BadJson::discard);
  if (reply.exit < 0 || reply.exit > 3) {
    reply.exit = static_cast<int>(util::Exit::io);
  }
  if (reply.body.is_discarded() || (reply.exit != 0 && error_code(reply.body).empty())) {
    // No document: the command died, or failed before it could say why in JSON.
    std::string message = result.err.empty() ? "envflow " + (args.empty() ? "" : args[0]) +
                                                   " gave no answer (exit " +
                                                   std::to_string(result.exit_code) + ")"
                                             : result.err;
    while (!message.empty() && message.back() == '\n') {
      message.pop_back();
    }
    if (reply.exit == 0) {
      reply.exit = static_cast<int>(util::Exit::io);
    }
    reply.body = cli::error_json(
        cli::ErrorReport::plain(static_cast<util::Exit>(reply.exit), message));
  }
  return reply;
}

namespace {

// A failed command's reply as the error it reported (read()'s contract).
[[noreturn]] void throw_failure(const CommandReply& reply) {
  const std::string message = reply.body["error"].value("message", "failed");
  switch (static_cast<util::Exit>(reply.exit)) {
  case util::Exit::refused:
    throw util::Refused(message);
  case util::Exit::usage:
    throw util::UsageError(message);
  default:
    throw util::IoError(message);
  }
}

} // namespace

std::vector<CommandReply>
CommandRunner::run_all(const std::vector<std::vector<std::string>>& commands) const {
  // Each thread runs one process and fills only its own reply; the runner is
  // read, never written. Every future is waited for before anything is
  // thrown, so no thread outlives this call.
  std::vector<CommandReply> replies(commands.size());
  for (std::size_t start = 0; start < commands.size(); start += k_max_parallel) {
    const std::size_t end = std::min(commands.size(), start + k_max_parallel);
    std::vector<std::future<CommandReply>> running;
    for (std::size_t i = start; i < end; ++i) {
      running.push_back(
          std::async(std::launch::async, [this, &commands, i] { return run(commands[i]); }));
    }
    std::exception_ptr failure;
    for (std::size_t i = start; i < end; ++i) {
      try {
        replies[i] = running[i - start].get();
      } catch (...) {
        if (!failure) {
          failure = std::current_exception();
        }
      }
    }
    if (failure) {
      std::rethrow_exception(failure);
    }
  }
  return replies;
}

std::vector<nlohmann::json>
CommandRunner::read_all(const std::vector<std::vector<std::string>>& commands) const {
  std::vector<CommandReply> replies = run_all(commands);
  std::vector<nlohmann::json> documents;
  documents.reserve(replies.size());
  for (CommandReply& reply : replies) {
    if (reply.exit != 0) {
      throw_failure(reply);
    }
    documents.push_back(std::move(reply.body));
  }
  return documents;
}

nlohmann::json CommandRunner::read(const std::vector<std::string>& args) const {
  CommandReply reply = run(args);
  if (reply.exit == 0) {
    return std::move(reply.body);
  }
  throw_failure(reply);
}

int http_status(const CommandReply& reply) {
  if (reply.exit == 0) {
    return 200;
  }
  if (error_code(reply.body) == "forbidden") {
    return 403;
  }
  switch (static_cast<util::Exit>(reply.exit)) {
  case util::Exit::refused:
    return 409;
  case util::Exit::usage:
    return 400;
  default:
    return 500;
  }
}

} // namespace envflow::serve
