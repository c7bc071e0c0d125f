// etcd_process.h: a real etcd (Debian's /usr/bin/etcd) for the client's
// tests: one member on loopback, free ports, its data in a temporary
// directory, stopped (and the directory removed) at the end.
//
// Threading: used from the test's main thread only.
//
// The child gets PR_SET_PDEATHSIG, so an etcd never outlives a test
// process that a sanitizer aborts.
#ifndef SNOWFLAKE_TESTS_CORE_ETCD_PROCESS_H
#define SNOWFLAKE_TESTS_CORE_ETCD_PROCESS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace snowflake_test {

constexpr const char* kEtcdBinary = "/usr/bin/etcd";
constexpr const char* kEtcdctlBinary = "/usr/bin/etcdctl";

inline bool HaveEtcd() { return access(kEtcdBinary, X_OK) == 0; }

// A loopback socket bound to a free port; listening (never accepting) if
// listen, so that connections complete and then hear nothing: a frozen
// server. Closed by the destructor.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listen_on) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        (listen_on && listen(fd_, 16) != 0)) {
      Close();
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() { Close(); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  int port() const { return port_; }
  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port nobody listens on now (connections are refused).
inline int FreePort() {
  LoopbackSocket s(false);
  return s.port();
}

inline std::string MakeTempDir(const char* tag) {
  std::string tmpl = std::string("/tmp/snowflake-") + tag + "-XXXXXX";
  if (mkdtemp(&tmpl[0]) == nullptr) return "";
  return tmpl;
}

// Runs a shell command; its output (stdout and stderr) in *output.
inline int RunCommand(const std::string& command, std::string* output = nullptr) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class EtcdProcess {
 public:
  EtcdProcess() = default;
  ~EtcdProcess() { Stop(); }
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd with clients on scheme://127.0.0.1:<free port> and the
  // extra arguments, then waits (up to 20 s) until ready() holds. False,
  // with *why, if it did not come up.
  bool Start(const std::string& scheme, const std::vector<std::string>& extra_args,
             const std::function<bool()>& ready, std::string* why) {
    dir_ = MakeTempDir("etcd");
    if (dir_.empty()) {
      *why = "mkdtemp failed";
      return false;
    }
    client_port_ = FreePort();
    const int peer_port = FreePort();
    client_url_ = scheme + "://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
    std::vector<std::string> args = {kEtcdBinary,
                                     "--name=test",
                                     "--data-dir=" + dir_ + "/data",
                                     "--listen-client-urls=" + client_url_,
                                     "--advertise-client-urls=" + client_url_,
                                     "--listen-peer-urls=" + peer_url,
                                     "--initial-advertise-peer-urls=" + peer_url,
                                     "--initial-cluster=test=" + peer_url,
                                     "--heartbeat-interval=50",
                                     "--election-timeout=500"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    const std::string log = dir_ + "/etcd.log";
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      // The child: only async-signal-safe calls until exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int null_fd = open("/dev/null", O_RDONLY);
      if (fd < 0 || null_fd < 0) _exit(127);
      dup2(null_fd, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (pid_ < 0) {
      *why = "fork failed";
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        *why = "etcd exited: " + Log();
        return false;
      }
      if (ready()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    *why = "etcd not ready after 20 s: " + Log();
    return false;
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 250 && waitpid(pid_, &status, WNOHANG) == 0; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (i == 249) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
        }
      }
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  const std::string& client_url() const { return client_url_; }
  int client_port() const { return client_port_; }
  const std::string& dir() const { return dir_; }
  std::string Log() const {
    std::ifstream in(dir_ + "/etcd.log");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

 private:
  pid_t pid_ = -1;
  std::string dir_;
  std::string client_url_;
  int client_port_ = 0;
};

}  // namespace snowflake_test

#endif  // SNOWFLAKE_TESTS_CORE_ETCD_PROCESS_H
