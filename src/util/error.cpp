#include "util/error.h"

#include "util/strings.h"

namespace envflow::util {

Error::Error(Exit exit, const std::string& message, std::string code, std::string hint)
    : std::runtime_error(message), m_exit(exit), m_code(std::move(code)),
      m_hint(std::move(hint)) {}

template <Exit k_exit>
ExitError<k_exit>::ExitError(const std::string& message, std::string code, std::string hint)
    : Error(k_exit, message, std::move(code), std::move(hint)) {}

template class ExitError<Exit::refused>;
template class ExitError<Exit::usage>;
template class ExitError<Exit::io>;

RefLocked::RefLocked(std::string ref, std::vector<std::string> lock_files)
    : Refused(ref + " is locked: " + lock_files.front() + " exists. Another envflow or " +
                  "git process is updating it, or one was killed while it held the lock " +
                  "(envflow never removes a lock: it cannot tell a crashed process from a " +
                  "slow one). If no envflow or git process is running in this repository, " +
                  "remove " + join(lock_files, " ") + " and run the command again; " +
                  "nothing changed",
              "locked",
              "if no envflow or git process is running in this repository, remove " +
                  join(lock_files, " ") + " and run the command again"),
      m_ref(std::move(ref)), m_lock_files(std::move(lock_files)) {}

} // namespace envflow::util
