#include "util/process.h"

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"

namespace envflow::util {

namespace {

std::vector<char*> c_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  return args;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::string& cwd) {
  if (argv.empty()) {
    throw IoError("run_process: empty command");
  }
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
      pipe2(err_pipe, O_CLOEXEC) < 0) {
    throw IoError(std::string("pipe: ") + std::strerror(errno));
  }
  const auto args = c_args(argv);
  const pid_t pid = fork();
  if (pid < 0) {
    throw IoError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) < 0) {
      _exit(127);
    }
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    const std::string message = "cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    [[maybe_unused]] auto ignored = write(2, message.data(), message.size());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // The child may not read its input: never die of SIGPIPE for it.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);

  ProcessResult result;
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int out_fd = out_pipe[0];
  int err_fd = err_pipe[0];
  char buffer[65536];
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (in_fd >= 0) {
      fds[n++] = {in_fd, POLLOUT, 0};
    }
    if (out_fd >= 0) {
      fds[n++] = {out_fd, POLLIN, 0};
    }
    if (err_fd >= 0) {
      fds[n++] = {err_fd, POLLIN, 0};
    }
    if (poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      if (fds[i].fd == in_fd) {
        const ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) {
          written += static_cast<size_t>(w);
        }
        if (w < 0 && errno != EAGAIN) {
          written = input.size();
        }
        if (written >= input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const ssize_t r = read(fds[i].fd, buffer, sizeof buffer);
      std::string& sink = fds[i].fd == out_fd ? result.out : result.err;
      if (r > 0) {
        sink.append(buffer, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  sigaction(SIGPIPE, &previous, nullptr);
  result.exit_code = wait_for(pid);
  return result;
}

BoundedResult run_bounded(const std::vector<std::string>& argv, const BoundedRun& limits) {
  if (argv.empty()) {
    throw IoError("run_bounded: empty command");
  }
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) < 0) {
    throw IoError(std::string("pipe: ") + std::strerror(errno));
  }
  const auto args = c_args(argv);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw IoError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0); // its own group, so a timeout also ends what it started
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      dup2(null_fd, 0);
    }
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    if (!limits.cwd.empty() && chdir(limits.cwd.c_str()) < 0) {
      _exit(127);
    }
    for (const auto& [name, value] : limits.env) {
      setenv(name.c_str(), value.c_str(), 1);
    }
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    const std::string message = "cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    [[maybe_unused]] auto ignored = write(2, message.data(), message.size());
    _exit(127);
  }
  setpgid(pid, pid); // also here: no race with the child's own call
  close(out_pipe[1]);
  BoundedResult result;
  const auto deadline = start + std::chrono::seconds(limits.timeout_seconds);
  const auto keep = [&](const char* data, size_t n) {
    result.output.append(data, n);
    if (limits.max_output > 0 && result.output.size() > limits.max_output * 2) {
      result.output.erase(0, result.output.size() - limits.max_output);
      result.truncated = true;
    }
  };
  char buffer[65536];
  int fd = out_pipe[0];
  while (fd >= 0) {
    int wait_ms = -1;
    if (limits.timeout_seconds > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        result.timed_out = true;
        kill(-pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno != EINTR) {
      break;
    }
    if (ready <= 0) {
      continue;
    }
    const ssize_t r = read(fd, buffer, sizeof buffer);
    if (r > 0) {
      keep(buffer, static_cast<size_t>(r));
    } else if (r == 0 || errno != EINTR) {
      break;
    }
  }
  close(out_pipe[0]);
  if (limits.max_output > 0 && result.output.size() > limits.max_output) {
    result.output.erase(0, result.output.size() - limits.max_output);
    result.truncated = true;
  }
  result.exit_code = wait_for(pid);
  if (result.timed_out) {
    result.exit_code = -1;
  }
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return result;
}

int run_interactive(const std::vector<std::string>& argv) {
  const auto args = c_args(argv);
  const pid_t pid = fork();
  if (pid < 0) {
    throw IoError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    execvp(args[0], args.data());
    _exit(127);
  }
  return wait_for(pid);
}

std::vector<std::string> split_command(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : command) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
    } else {
      word += c;
    }
  }
  if (!word.empty()) {
    words.push_back(std::move(word));
  }
  return words;
}

} // namespace envflow::util
