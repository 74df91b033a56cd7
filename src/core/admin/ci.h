#pragma once

#include <map>
#include <string>
#include <vector>

namespace envflow::core::admin {

// The CI systems `envflow init --ci` writes jobs for.
inline const std::vector<std::string> k_ci_systems{"github", "gitlab"};

// Checks a `--ci` value; throws util::UsageError naming the known ones.
void check_ci_system(const std::string& ci);

// The CI files for `ci` ("github" or "gitlab") and the pipeline `envs`, by
// path in the repository: the embedded templates/ci/<ci>/ files rendered for
// these environments (see render_ci_template). Empty for "".
std::map<std::string, std::string> ci_files(const std::string& ci,
                                            const std::vector<std::string>& envs);

// Render a CI template for `envs`: each block between a `#@each-promotion`
// line and a `#@end` line is repeated for every environment but the last,
// with `@@ENV@@` the environment and `@@NEXT@@` the one after it; anywhere,
// `@@FIRST@@` is the first environment, `@@NEXT_JSON@@` a JSON object from
// each environment to the next, and `@@VERSION@@` envflow's version.
// Throws std::invalid_argument on an unterminated block.
std::string render_ci_template(const std::string& text, const std::vector<std::string>& envs);

} // namespace envflow::core::admin
