#include "util/error.h"

#include "util/strings.h"

namespace envflow::util {

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
