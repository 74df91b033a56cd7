// cli::CommandLine (cli/command.h): the command files' way of registering
// options, over CLI11, which is compiled here once rather than in each of them.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace envflow::cli {

CommandLine::Option& CommandLine::Option::required() {
  m_option->required();
  return *this;
}

CommandLine::Option& CommandLine::Option::option_text(const std::string& text) {
  m_option->option_text(text);
  return *this;
}

CommandLine::Option& CommandLine::Option::capture_default_str() {
  m_option->capture_default_str();
  return *this;
}

CommandLine::Option& CommandLine::Option::choices(const std::vector<std::string>& names) {
  m_option->check(CLI::IsMember(names));
  return *this;
}

std::size_t CommandLine::Option::count() const { return m_option->count(); }

CommandLine::Option CommandLine::add_option(const std::string& name, std::string& value,
                                            const std::string& help) {
  return Option(m_app->add_option(name, value, help));
}

CommandLine::Option CommandLine::add_option(const std::string& name,
                                            std::vector<std::string>& value,
                                            const std::string& help) {
  return Option(m_app->add_option(name, value, help));
}

CommandLine::Option CommandLine::add_option(const std::string& name, int& value,
                                            const std::string& help) {
  return Option(m_app->add_option(name, value, help));
}

CommandLine::Option CommandLine::add_option(const std::string& name, std::size_t& value,
                                            const std::string& help) {
  return Option(m_app->add_option(name, value, help));
}

CommandLine::Option CommandLine::add_flag(const std::string& name, bool& value,
                                          const std::string& help) {
  return Option(m_app->add_flag(name, value, help));
}

CommandLine CommandLine::add_subcommand(const std::string& name, const std::string& help) {
  return CommandLine(*m_app->add_subcommand(name, help));
}

void CommandLine::require_subcommand(int count) { m_app->require_subcommand(count); }

void CommandLine::footer(const std::string& text) { m_app->footer(text); }

std::shared_ptr<Candidate> CommandLine::add_candidate(const std::string& verb) {
  auto candidate = std::make_shared<Candidate>();
  add_option("env", candidate->env, "Environment the promotion goes into")
      .required()
      .option_text("ENV");
  add_option("--rev", candidate->rev,
             "Commit to " + verb + " (default: the previous environment's head)")
      .option_text("REV");
  return candidate;
}

CommandLine CommandLine::add_choice(const std::shared_ptr<std::string>& which,
                                    const std::string& name, const std::string& help) {
  require_subcommand(1);
  CommandLine sub = add_subcommand(name, help);
  sub.app().callback([which, name] { *which = name; });
  return sub;
}

} // namespace envflow::cli
