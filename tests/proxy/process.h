// A child process for the proxy tests: posix_spawn with stdout captured in
// a file (so a chatty child never blocks on a full pipe), signals, bounded
// waits. The destructor SIGKILLs and reaps whatever is still running.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace loom::test {

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, std::string stdout_path) : stdout_path_(std::move(stdout_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::to_string(rc));
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }
  // The first stdout line starting with `prefix`, waiting up to `budget`.
  std::optional<std::string> line_starting(const std::string& prefix,
                                           std::chrono::milliseconds budget = std::chrono::seconds(10)) const {
    const auto end = std::chrono::steady_clock::now() + budget;
    do {
      std::ifstream in(stdout_path_);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0 && in.good()) return line.substr(prefix.size());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < end);
    return std::nullopt;
  }
  // The exit status once it exits within `budget`; nullopt if still running.
  std::optional<int> wait(std::chrono::milliseconds budget) {
    const auto end = std::chrono::steady_clock::now() + budget;
    do {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < end);
    return std::nullopt;
  }
  // SIGKILL and reap now.
  void kill_now() {
    signal(SIGKILL);
    wait(std::chrono::seconds(5));
  }

 private:
  std::string stdout_path_;
  pid_t pid_ = -1;
};

}  // namespace loom::test
