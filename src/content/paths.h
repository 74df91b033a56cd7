#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "content/diagnostic.h"
#include "content/source.h"

// Rules on the names in a snapshot, whatever the files hold: names a checkout
// cannot write safely, and names one filesystem keeps apart while another
// (macOS and Windows by default) takes them for the same file.
namespace envflow::content {

// The key under which two names are one file on a case-insensitive,
// normalisation-insensitive filesystem: the NFC form of the name's full
// Unicode case folding (canonical caseless matching: "Agents", "AGENTS",
// "agents" and "ſecrets"/"secrets" fold alike, and so do "café" with é
// composed and with e + U+0301). A name that is not UTF-8 keeps its bytes,
// ASCII letters lowered.
std::string fold_name(std::string_view name);

// True when `name`, a top-level folder, folds like a content folder or a
// runtime folder (kinds.h), spelled like it or not: `agents`, `Agents`,
// `SECRETS`. A working tree's listing descends into these.
bool folds_like_content_folder(std::string_view name);

// Why `path` ('/'-separated) cannot be checked out safely, or "" when it can:
// an empty, `.` or `..` component; a `.git` component in any letter case or
// in a spelling Windows or macOS reads as `.git` (`git~1`, `.git.`, `.git `,
// `.g\u200cit`); a backslash (a folder separator on Windows); a control
// character; bytes that are not UTF-8.
std::string unsafe_path_reason(std::string_view path);

// Every finding on the paths of `entries` (sorted by path), each on the path
// of a file, so a caller that reports only some files still sees it:
//  - "path-unsafe": unsafe_path_reason, on the file;
//  - "case-collision": a top-level name spelled otherwise than, but folding
//    like, a content folder, a runtime folder (see kinds.h) or
//    workspace.yaml (`Agents/`, `SECRETS/`, `Workspace.yaml`), on every file
//    under it; two files that fold alike, on each; two folders that fold
//    alike, on the first file under each spelling. Names under a colliding
//    folder are not compared again.
// Messages say what the name collides with and how to mend it.
std::vector<Diagnostic> check_paths(const std::vector<FileEntry>& entries);

} // namespace envflow::content
