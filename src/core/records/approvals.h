#pragma once

#include <string>
#include <vector>

#include "core/model/view.h"

// Approvals: each one a ref of its own,
// refs/envflow/approvals/<env>/<commit>/<person>, pointing at the approved
// commit. Approvals by different people never touch the same ref, so they
// never race; the audit trail keeps who approved when.
namespace envflow::core::records {

// The people who approved promoting `commit` into `env` and belong to its
// approvers groups (as the policy says now), sorted by name, each once.
std::vector<std::string> approvals_for(const model::Pipeline& pipeline,
                                       const policy::Environment& env, const std::string& commit);

// The same, for the approvals a hotfix of `commit` on the last environment
// needs (policy `hotfix.approvers`).
std::vector<std::string> hotfix_approvals_for(const model::Pipeline& pipeline,
                                              const std::string& commit);

// `approvals` without `person` (nobody approves their own promotion).
std::vector<std::string> without(std::vector<std::string> approvals, const std::string& person);

// Approvals counted against those needed, as every message and page says
// it: "1 approval of 2 needed", "2 approvals of 1 needed", "1 approval, none
// needed" (`needed` 0 or less).
std::string approvals_text(size_t have, int needed);

} // namespace envflow::core::records
