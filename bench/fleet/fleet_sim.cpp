// fleet_sim: a fleet of simulated snowflake servers against a real etcd
// cluster (issue 17).
//
// Owns: the simulated servers, the etcd cluster it starts on loopback, the
// scenarios and their figures. Each simulated server runs what a server's
// reservation writer runs for its node id: the core's LeaseKeeper over a
// NodeLease over a CurlEtcdClient (the same objects, the same schedule: a
// step every 50 ms), and, when busy, the generator and reservation steps
// of the core, capped by the node id's high-water mark as a server's are.
// Only PostgreSQL is missing: shared memory is a struct, the renewal lock
// a mutex, the state file a variable.
//
// Threading: one thread per simulated server; each owns its objects. The
// main thread only starts and stops them and reads their atomics.
//
// Usage (bench/fleet.sh runs it; as root it starts etcd as --etcd-user):
//   fleet_sim --servers 256 --scenario storm [--node-ids fixed] [--ttl-s 10]
//             [--steady-s 30] [--busy 0.5] [--timeout-s 300] [--work DIR]
// Prints "key value" lines, one figure each, for bench/fleet.sh to record.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "clock_guard.h"
#include "etcd_client.h"
#include "generator.h"
#include "json.h"
#include "lease_keeper.h"
#include "node_lease.h"
#include "reservation.h"

namespace {

using snowflake::Status;
using snowflake::StatusCode;

// The reservation writer's wake interval (src/pg/reservation_worker.cpp).
constexpr int64_t kStepMs = 50;
// snowflake.max_clock_drift's default.
constexpr int64_t kMaxDriftMs = 10000;

int64_t MonotonicMs() {
  static snowflake::MonotonicClock clock;
  return clock.NowMs();
}

// ---------------------------------------------------------------------------
// Counting every request a server sends etcd.
// ---------------------------------------------------------------------------
enum RequestKind { kGrant, kKeepAlive, kRevoke, kTxn, kRange, kTimeToLive, kKinds };
const char* const kKindNames[kKinds] = {"grant", "keepalive", "revoke", "txn", "range", "ttl"};

class CountingEtcd final : public snowflake::EtcdApi {
 public:
  explicit CountingEtcd(snowflake::EtcdClientConfig config) : inner_(std::move(config)) {}
  Status GrantLease(int64_t ttl_s, int64_t* lease_id, int64_t* granted) override {
    Count(kGrant);
    return inner_.GrantLease(ttl_s, lease_id, granted);
  }
  Status KeepAliveLease(int64_t lease_id, int64_t* ttl_s) override {
    Count(kKeepAlive);
    return inner_.KeepAliveLease(lease_id, ttl_s);
  }
  Status RevokeLease(int64_t lease_id) override {
    Count(kRevoke);
    return inner_.RevokeLease(lease_id);
  }
  Status Txn(const snowflake::EtcdTxn& txn, snowflake::EtcdTxnResult* result) override {
    Count(kTxn);
    return inner_.Txn(txn, result);
  }
  Status Range(const std::string& key, const std::string& end,
               std::vector<snowflake::EtcdKeyValue>* kvs) override {
    Count(kRange);
    return inner_.Range(key, end, kvs);
  }
  Status LeaseTimeToLive(int64_t lease_id, int64_t* left) override {
    Count(kTimeToLive);
    return inner_.LeaseTimeToLive(lease_id, left);
  }
  void SetRequestTimeoutMs(int64_t timeout_ms) override { inner_.SetRequestTimeoutMs(timeout_ms); }
  int64_t LastRevision() const override { return inner_.LastRevision(); }
  std::string LastErrorDetail() const override { return inner_.LastErrorDetail(); }

  uint64_t count(int kind) const { return counts_[kind].load(std::memory_order_relaxed); }
  uint64_t total() const {
    uint64_t sum = 0;
    for (int k = 0; k < kKinds; ++k) sum += count(k);
    return sum;
  }

 private:
  void Count(RequestKind kind) { counts_[kind].fetch_add(1, std::memory_order_relaxed); }
  snowflake::CurlEtcdClient inner_;
  std::atomic<uint64_t> counts_[kKinds] = {};
};

// The state file, in memory: always durable.
class MemoryStore final : public snowflake::StateStore {
 public:
  Status Load(snowflake::PersistedState* state) override {
    if (!saved_) return Status::Error(StatusCode::kNotFound, "nothing saved");
    *state = state_;
    return Status::Ok();
  }
  Status Save(const snowflake::PersistedState& state) override {
    state_ = state;
    saved_ = true;
    return Status::Ok();
  }

 private:
  snowflake::PersistedState state_{};
  bool saved_ = false;
};

// ---------------------------------------------------------------------------
// One simulated server.
// ---------------------------------------------------------------------------
struct ServerOptions {
  std::vector<std::string> endpoints;
  std::string prefix;
  int64_t ttl_ms = 30000;
  int32_t fixed_node_id = -1;      // -1: etcd assigns one
  int32_t preferred_node_id = -1;  // an assigned id its state file remembers; -1: none
};

class SimServer final : public snowflake::LeaseKeeperHost {
 public:
  SimServer(int index, const ServerOptions& options) : index_(index), options_(options) {}

  // Starts the server's thread; it claims, keeps its lease, and issues
  // when busy, until Stop().
  void Start(int64_t start_mono_ms) {
    start_mono_ms_ = start_mono_ms;
    thread_ = std::thread([this] { Run(); });
  }
  // A clean stop: the lease is released (the mark lowered first).
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  // kill -9 of the whole server: the thread ends without releasing anything.
  void Kill() {
    killed_.store(true);
    Stop();
  }
  void set_busy(bool busy) { busy_.store(busy); }

  bool held() const { return held_node_id_.load() >= 0; }
  int32_t node_id() const { return held_node_id_.load(); }
  // The node id this run held last (-1: none yet), for a restart to ask for.
  int32_t last_node_id() const { return last_node_id_.load(); }
  const ServerOptions& options() const { return options_; }
  int64_t held_after_ms() const { return held_after_ms_.load(); }
  const CountingEtcd* etcd() const { return etcd_.get(); }
  uint64_t requests() const { return etcd_ ? etcd_->total() : 0; }
  uint64_t claims() const { return claims_.load(); }
  uint64_t leases_lost() const { return leases_lost_.load(); }
  const std::vector<int64_t>& ids() const { return ids_; }  // after Stop()

  // LeaseKeeperHost: what the reservation writer publishes, kept here.
  void LockRenewals() override { renewal_lock_.lock(); }
  void UnlockRenewals() override { renewal_lock_.unlock(); }
  void OnClaimedLocked(const snowflake::ClaimOutcome& outcome, int64_t start_after) override {
    snowflake::SetNodeId(&generator_, outcome.node_id, start_after);
    high_water_ms_ = lease_->high_water_ms();
  }
  void OnClaimed(const snowflake::ClaimOutcome& outcome) override {
    claims_.fetch_add(1);
    if (held_after_ms_.load() < 0) held_after_ms_.store(MonotonicMs() - start_mono_ms_);
    held_node_id_.store(outcome.node_id);
    last_node_id_.store(outcome.node_id);
  }
  void OnClaimFailed(const Status& status, const snowflake::ClaimOutcome&, bool) override {
    if (status.code == StatusCode::kNoFreeNodeId) no_free_refusals_.fetch_add(1);
  }
  uint64_t no_free_refusals() const { return no_free_refusals_.load(); }
  void OnLeaseLost(int32_t) override {
    std::lock_guard<std::mutex> lock(renewal_lock_);
    high_water_ms_ = -1;
    held_node_id_.store(-1);
    leases_lost_.fetch_add(1);
  }
  void OnSecondHolder(int32_t) override {}
  void OnRoundFailed(const Status&, int32_t) override {}
  void OnKeptAlive(int32_t) override {}
  void OnHighWaterRaised() override { high_water_ms_ = lease_->high_water_ms(); }

 private:
  void Run() {
    snowflake::EtcdClientConfig config;
    config.endpoints = options_.endpoints;
    // As the server's BuildEtcdClientConfig: a fifth of the TTL per request.
    config.request_timeout_ms = snowflake::EtcdRequestTimeoutMs(options_.ttl_ms);
    config.connect_timeout_ms = std::min<int64_t>(1000, config.request_timeout_ms);
    etcd_ = std::make_unique<CountingEtcd>(std::move(config));
    snowflake::HolderIdentity self;
    self.host = "sim";
    self.port = 10000 + index_;
    self.system_identifier = 7000000000000000000ull + static_cast<uint64_t>(index_);
    self.data_directory = "/sim/" + std::to_string(index_);
    self.started_at_ms = static_cast<int64_t>(time(nullptr)) * 1000;
    snowflake::NodeLeaseOptions lease_options;
    lease_options.prefix = options_.prefix;
    lease_options.ttl_ms = options_.ttl_ms;
    lease_ = std::make_unique<snowflake::NodeLease>(etcd_.get(), &monotonic_, lease_options, self);
    snowflake::InitGeneratorState(&generator_, -1, -1, snowflake::ClockCondition::kNormal);
    keeper_ = std::make_unique<snowflake::LeaseKeeper>(lease_.get(), &generator_, this,
                                                       options_.fixed_node_id, options_.ttl_ms);
    while (!stop_.load()) {
      snowflake::LeaseKeeperInput input;
      input.now_ms = wall_.NowMs();
      input.monotonic_ms = MonotonicMs();
      input.wanted_high_water_ms = wanted_ms_;
      input.preferred_node_id = options_.preferred_node_id;
      keeper_->Step(input);
      if (lease_->held() && busy_.load()) Issue(input.now_ms);
      RenewAhead(wall_.NowMs());
      std::this_thread::sleep_for(std::chrono::milliseconds(kStepMs));
    }
    // As the reservation writer at its exit: issuing has stopped (this
    // thread issues), the mark comes back down to what was reserved.
    if (lease_->held() && !killed_.load())
      (void)lease_->Release(generator_.reserved_until_ms.load());
  }

  // A backend's call: one ID under the fence, renewing (capped by the mark)
  // when the window is used up, asking the keeper for a higher mark when the
  // mark is the limit.
  void Issue(int64_t now_ms) {
    if (MonotonicMs() >= lease_->valid_until_ms()) return;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const snowflake::NextIdResult r = snowflake::NextId(&generator_, &wall_, kMaxDriftMs);
      if (r.outcome == snowflake::NextIdOutcome::kIssued) {
        ids_.push_back(r.id);
        return;
      }
      if (r.outcome != snowflake::NextIdOutcome::kNeedsReservation) return;
      std::lock_guard<std::mutex> lock(renewal_lock_);
      const Status status =
          snowflake::RenewReservation(&generator_, &store_, now_ms, r.candidate_ms, high_water_ms_);
      if (status.code == StatusCode::kBeyondHighWater) {
        wanted_ms_ = std::max(wanted_ms_, r.candidate_ms);
        return;
      }
      if (!status.ok()) return;
    }
  }

  // The writer's renewal ahead of need (reservation_worker.cpp).
  void RenewAhead(int64_t now_ms) {
    if (!snowflake::ShouldRenewAhead(generator_, now_ms)) return;
    std::lock_guard<std::mutex> lock(renewal_lock_);
    (void)snowflake::RenewReservation(&generator_, &store_, now_ms, -1, high_water_ms_);
  }

  const int index_;
  const ServerOptions options_;
  int64_t start_mono_ms_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{false};
  std::atomic<bool> killed_{false};
  std::atomic<uint64_t> no_free_refusals_{0};
  std::atomic<int32_t> held_node_id_{-1};
  std::atomic<int32_t> last_node_id_{-1};
  std::atomic<int64_t> held_after_ms_{-1};
  std::atomic<uint64_t> claims_{0};
  std::atomic<uint64_t> leases_lost_{0};

  snowflake::SystemClock wall_;
  snowflake::MonotonicClock monotonic_;
  std::unique_ptr<CountingEtcd> etcd_;
  std::unique_ptr<snowflake::NodeLease> lease_;
  std::unique_ptr<snowflake::LeaseKeeper> keeper_;
  snowflake::GeneratorState generator_{};
  MemoryStore store_;
  std::mutex renewal_lock_;
  int64_t high_water_ms_ = -1;  // under renewal_lock_ (the server's shared high_water_ms)
  int64_t wanted_ms_ = -1;
  std::vector<int64_t> ids_;
};

// ---------------------------------------------------------------------------
// A real etcd cluster on loopback.
// ---------------------------------------------------------------------------
bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return free;
}

class EtcdCluster {
 public:
  // members on loopback, ports from 7000-8999 (below PostgreSQL's TAP range
  // and the kernel's ephemeral ports), data under work/, run as user when
  // we are root.
  bool Start(int members, const std::string& work, const std::string& user) {
    std::mt19937 random(static_cast<unsigned>(getpid() ^ time(nullptr)));
    int base = 0;
    for (int tries = 0; tries < 50 && base == 0; ++tries) {
      const int candidate = 7000 + static_cast<int>(random() % 900) * 2;
      bool all = true;
      for (int m = 0; m < members && all; ++m)
        all = PortFree(candidate + m * 20) && PortFree(candidate + m * 20 + 1);
      if (all) base = candidate;
    }
    if (base == 0) return false;
    uid_t uid = 0;
    gid_t gid = 0;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam(user.c_str());
      if (pw == nullptr) return false;
      uid = pw->pw_uid;
      gid = pw->pw_gid;
    }
    std::string initial;
    for (int m = 0; m < members; ++m) {
      if (m > 0) initial += ",";
      initial += "m" + std::to_string(m) + "=http://127.0.0.1:" + std::to_string(base + m * 20 + 1);
    }
    for (int m = 0; m < members; ++m) {
      const std::string name = "m" + std::to_string(m);
      const std::string dir = work + "/etcd-" + name;
      mkdir(dir.c_str(), 0700);
      if (geteuid() == 0 && chown(dir.c_str(), uid, gid) != 0) return false;
      const std::string client = "http://127.0.0.1:" + std::to_string(base + m * 20);
      const std::string peer = "http://127.0.0.1:" + std::to_string(base + m * 20 + 1);
      endpoints_.push_back(client);
      const std::vector<std::string> args = {"/usr/bin/etcd",
                                             "--name",
                                             name,
                                             "--data-dir",
                                             dir,
                                             "--listen-client-urls",
                                             client,
                                             "--advertise-client-urls",
                                             client,
                                             "--listen-peer-urls",
                                             peer,
                                             "--initial-advertise-peer-urls",
                                             peer,
                                             "--initial-cluster",
                                             initial,
                                             "--initial-cluster-state",
                                             "new",
                                             "--log-level",
                                             "warn",
                                             "--logger",
                                             "zap",
                                             "--log-outputs",
                                             dir + ".log"};
      const pid_t pid = fork();
      if (pid == 0) {
        if (geteuid() == 0 && (setgid(gid) != 0 || setuid(uid) != 0)) _exit(127);
        // After the change of user, which clears it: a member must not
        // outlive a simulator that was killed.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        std::vector<char*> argv;
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
      }
      pids_.push_back(pid);
    }
    return WaitHealthy();
  }

  // Every member answers a read (the cluster has a leader).
  bool WaitHealthy() {
    for (const std::string& endpoint : endpoints_) {
      snowflake::EtcdClientConfig config;
      config.endpoints = {endpoint};
      snowflake::CurlEtcdClient client(config);
      bool ok = false;
      for (int i = 0; i < 200 && !ok; ++i) {
        std::vector<snowflake::EtcdKeyValue> kvs;
        ok = client.Range("/health-check", "", &kvs).ok();
        if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!ok) return false;
    }
    return true;
  }

  void Stop() {
    for (pid_t pid : pids_) kill(pid, SIGTERM);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
    pids_.clear();
  }

  // kill -9 of the member that leads the cluster now (etcd's
  // /v3/maintenance/status: the member whose id is the leader's). Its
  // index, or -1 when no member said it leads.
  int KillLeader() {
    for (size_t m = 0; m < endpoints_.size(); ++m) {
      const std::string command = "curl -s -m 2 -X POST -d '{}' " + endpoints_[m] +
                                  "/v3/maintenance/status 2>/dev/null";
      FILE* out = popen(command.c_str(), "r");
      if (out == nullptr) continue;
      std::string answer;
      char buf[512];
      size_t n = 0;
      while ((n = fread(buf, 1, sizeof buf, out)) > 0) answer.append(buf, n);
      pclose(out);
      const snowflake::Json status = snowflake::ParseJson(answer);
      const snowflake::Json* header = snowflake::JsonMember(status, "header");
      std::string member, leader;
      if (header == nullptr || !snowflake::JsonString(*header, "member_id", &member) ||
          !snowflake::JsonString(status, "leader", &leader) || member != leader)
        continue;
      kill(pids_[m], SIGKILL);
      return static_cast<int>(m);
    }
    return -1;
  }

  // CPU seconds the members used so far (user + system).
  double CpuSeconds() const {
    double total = 0;
    for (pid_t pid : pids_) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
      FILE* f = fopen(path, "r");
      if (f == nullptr) continue;
      char buf[1024];
      const size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = '\0';
      const char* p = strrchr(buf, ')');
      if (p == nullptr) continue;
      unsigned long utime = 0, stime = 0;
      // Fields after the command: state is 3rd; utime and stime are 14th and 15th.
      if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
        total += static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return total;
  }

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  std::vector<std::string> endpoints_;
  std::vector<pid_t> pids_;
};

// ---------------------------------------------------------------------------
// Scenarios.
// ---------------------------------------------------------------------------
struct Options {
  int servers = 64;
  std::vector<std::string> scenarios;  // after the storm: rolling, kill
  bool fixed_node_ids = false;
  int64_t ttl_s = 30;
  int64_t steady_s = 0;
  double busy = 0.5;
  int64_t timeout_s = 300;
  int64_t kill_leader_after_ms = -1;  // the etcd leader killed this long into the storm
  double max_requests_per_server = 0;  // > 0: the storm fails above it
  int members = 3;
  std::string endpoints;  // an etcd cluster of the caller's; none is started
  std::string prefix = "/fleet-sim";
  std::string ids_out;  // every ID issued, one a line
  std::string work = "/tmp";
  std::string etcd_user = "postgres";
};

void Usage() {
  fprintf(stderr,
          "usage: fleet_sim [--servers N] [--node-ids assigned|fixed] [--ttl-s S]\n"
          "                 [--steady-s S] [--busy FRACTION] [--timeout-s S]\n"
          "                 [--kill-leader-after-ms MS] [--scenarios rolling,kill]\n"
          "                 [--max-requests-per-server X] [--endpoints URL,...] [--prefix P]\n"
          "                 [--ids-out FILE] [--members M] [--work DIR] [--etcd-user USER]\n");
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                            : comma - start);
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) return false;
    if (a == "--servers")
      o->servers = atoi(v);
    else if (a == "--scenarios")
      o->scenarios = SplitComma(v);
    else if (a == "--node-ids")
      o->fixed_node_ids = std::string(v) == "fixed";
    else if (a == "--ttl-s")
      o->ttl_s = atoll(v);
    else if (a == "--steady-s")
      o->steady_s = atoll(v);
    else if (a == "--busy")
      o->busy = atof(v);
    else if (a == "--timeout-s")
      o->timeout_s = atoll(v);
    else if (a == "--kill-leader-after-ms")
      o->kill_leader_after_ms = atoll(v);
    else if (a == "--max-requests-per-server")
      o->max_requests_per_server = atof(v);
    else if (a == "--members")
      o->members = atoi(v);
    else if (a == "--endpoints")
      o->endpoints = v;
    else if (a == "--prefix")
      o->prefix = v;
    else if (a == "--ids-out")
      o->ids_out = v;
    else if (a == "--work")
      o->work = v;
    else if (a == "--etcd-user")
      o->etcd_user = v;
    else
      return false;
    ++i;
  }
  for (const std::string& scenario : o->scenarios)
    if (scenario != "rolling" && scenario != "kill") return false;
  return o->servers > 0 && o->servers <= 1025;
}

void Figure(const char* key, double value) { printf("%s %.3f\n", key, value); }

using Fleet = std::vector<std::unique_ptr<SimServer>>;

uint64_t SumRequests(const Fleet& fleet) {
  uint64_t sum = 0;
  for (const auto& s : fleet) sum += s->requests();
  return sum;
}

// Waits until every server in the list holds a node id (at most
// expected of them can); the seconds it took, or -1 at the timeout.
double WaitHeld(const std::vector<SimServer*>& servers, int expected, int64_t start_ms,
                int64_t timeout_s) {
  while (MonotonicMs() - start_ms < timeout_s * 1000) {
    int held = 0;
    for (const SimServer* s : servers) held += s->held() ? 1 : 0;
    if (held >= expected) return static_cast<double>(MonotonicMs() - start_ms) / 1000.0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::vector<SimServer*> Pointers(const Fleet& fleet) {
  std::vector<SimServer*> out;
  for (const auto& s : fleet) out.push_back(s.get());
  return out;
}

// Replaces fleet[i] with a new run of the same server (same identity,
// remembering its node id as its state file would), started now; the old
// run goes to the graveyard, whose IDs are checked with everyone's.
void Restart(Fleet* fleet, Fleet* graveyard, size_t i, bool busy) {
  ServerOptions o = (*fleet)[i]->options();
  if (o.fixed_node_id < 0) o.preferred_node_id = (*fleet)[i]->last_node_id();
  graveyard->push_back(std::move((*fleet)[i]));
  (*fleet)[i] = std::make_unique<SimServer>(static_cast<int>(i), o);
  (*fleet)[i]->set_busy(busy);
  (*fleet)[i]->Start(MonotonicMs());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    Usage();
    return 2;
  }
  // One connection per server, and etcd's own: past the default 1024.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
  signal(SIGPIPE, SIG_IGN);
  if (!snowflake::EtcdGlobalInit()) return 1;

  EtcdCluster cluster;
  std::vector<std::string> endpoints = SplitComma(options.endpoints);
  if (endpoints.empty()) {
    if (!cluster.Start(options.members, options.work, options.etcd_user)) {
      fprintf(stderr, "fleet_sim: etcd did not start (logs in %s)\n", options.work.c_str());
      cluster.Stop();
      return 1;
    }
    endpoints = cluster.endpoints();
  }

  ServerOptions server_options;
  server_options.endpoints = endpoints;
  server_options.prefix = options.prefix;
  server_options.ttl_ms = options.ttl_s * 1000;
  Fleet fleet;
  Fleet graveyard;  // runs that were stopped or killed: their IDs count too
  for (int i = 0; i < options.servers; ++i) {
    ServerOptions o = server_options;
    if (options.fixed_node_ids) o.fixed_node_id = i % 1024;
    // Round-robin over the members, as a fleet spreads its endpoint lists.
    std::rotate(o.endpoints.begin(), o.endpoints.begin() + (i % o.endpoints.size()),
                o.endpoints.end());
    fleet.push_back(std::make_unique<SimServer>(i, o));
  }
  bool failed = false;

  // ---- The storm: every server starts at once (the etcd leader killed
  // during it, if asked).
  const double cpu0 = cluster.CpuSeconds();
  const int64_t start = MonotonicMs();
  for (auto& s : fleet) s->Start(start);
  const int expected = std::min(options.servers, 1024);
  if (options.kill_leader_after_ms >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(options.kill_leader_after_ms));
    const int killed = cluster.KillLeader();
    Figure("storm_etcd_leader_killed_at_s", static_cast<double>(MonotonicMs() - start) / 1000.0);
    if (killed < 0) {
      fprintf(stderr, "fleet_sim: no etcd member said it leads\n");
      failed = true;
    }
  }
  const double storm_s = WaitHeld(Pointers(fleet), expected, start, options.timeout_s);
  int held = 0;
  for (const auto& s : fleet) held += s->held() ? 1 : 0;
  const uint64_t storm_requests = SumRequests(fleet);
  const double storm_cpu = cluster.CpuSeconds() - cpu0;
  std::set<int32_t> ids;
  for (const auto& s : fleet)
    if (s->held()) ids.insert(s->node_id());
  const double per_server =
      static_cast<double>(storm_requests) / static_cast<double>(options.servers);
  Figure("servers", options.servers);
  Figure("storm_held", held);
  Figure("storm_distinct_node_ids", static_cast<double>(ids.size()));
  Figure("storm_all_held_s", storm_s);
  Figure("storm_requests_per_server", per_server);
  Figure("storm_etcd_cpu_s", storm_cpu);
  for (int k = 0; k < kKinds; ++k) {
    uint64_t n = 0;
    for (const auto& s : fleet) n += s->etcd()->count(k);
    char key[64];
    snprintf(key, sizeof key, "storm_%s_per_server", kKindNames[k]);
    Figure(key, static_cast<double>(n) / static_cast<double>(options.servers));
  }
  if (storm_s < 0 || static_cast<int>(ids.size()) != held) failed = true;
  if (options.max_requests_per_server > 0 && per_server > options.max_requests_per_server) {
    fprintf(stderr, "fleet_sim: %.2f etcd requests per server in the storm, more than %.2f\n",
            per_server, options.max_requests_per_server);
    failed = true;
  }
  if (options.servers > 1024) {
    // The 1025th: told that every node id is held (53400), not left guessing.
    uint64_t refusals = 0;
    for (const auto& s : fleet) refusals += s->no_free_refusals();
    Figure("servers_without_a_node_id", options.servers - held);
    Figure("no_free_node_id_refusals", static_cast<double>(refusals));
    if (refusals == 0) failed = true;
  }

  const int busy_count = static_cast<int>(options.busy * options.servers);
  for (int i = 0; i < options.servers; ++i) fleet[i]->set_busy(i < busy_count);

  // ---- Steady state: a fraction of the servers issue, the rest are idle.
  if (options.steady_s > 0 && !failed) {
    // Let the busy ones settle into their windows first.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::vector<uint64_t> before;
    for (const auto& s : fleet) before.push_back(s->requests());
    const double cpu1 = cluster.CpuSeconds();
    const int64_t t0 = MonotonicMs();
    std::this_thread::sleep_for(std::chrono::seconds(options.steady_s));
    const double seconds = static_cast<double>(MonotonicMs() - t0) / 1000.0;
    uint64_t busy_requests = 0, idle_requests = 0;
    for (int i = 0; i < options.servers; ++i) {
      const uint64_t n = fleet[i]->requests() - before[i];
      (i < busy_count ? busy_requests : idle_requests) += n;
    }
    const int idle_count = options.servers - busy_count;
    if (busy_count > 0)
      Figure("steady_busy_requests_per_server_s",
             static_cast<double>(busy_requests) / busy_count / seconds);
    if (idle_count > 0)
      Figure("steady_idle_requests_per_server_s",
             static_cast<double>(idle_requests) / idle_count / seconds);
    Figure("steady_etcd_cpu_ms_per_server_s",
           (cluster.CpuSeconds() - cpu1) * 1000.0 / options.servers / seconds);
  }

  for (const std::string& scenario : options.scenarios) {
    if (failed) break;
    const size_t n = std::min<size_t>(fleet.size(), 1024);
    if (scenario == "rolling") {
      // ---- A rolling restart of the whole fleet, a tenth at a time: each
      // stops cleanly (releasing its node id) and starts again at once.
      const size_t batch = std::max<size_t>(1, n / 10);
      const int64_t t0 = MonotonicMs();
      uint64_t requests = 0;
      double slowest = 0;
      for (size_t first = 0; first < n && !failed; first += batch) {
        std::vector<SimServer*> restarted;
        const size_t last = std::min(n, first + batch);
        for (size_t i = first; i < last; ++i) fleet[i]->Stop();
        for (size_t i = first; i < last; ++i) {
          Restart(&fleet, &graveyard, i, static_cast<int>(i) < busy_count);
          restarted.push_back(fleet[i].get());
        }
        const double took = WaitHeld(restarted, static_cast<int>(restarted.size()), MonotonicMs(),
                                     options.timeout_s);
        if (took < 0) failed = true;
        slowest = std::max(slowest, took);
        for (SimServer* s : restarted) requests += s->requests();
      }
      Figure("rolling_restarted", static_cast<double>(n));
      Figure("rolling_total_s", static_cast<double>(MonotonicMs() - t0) / 1000.0);
      Figure("rolling_slowest_batch_s", slowest);
      Figure("rolling_requests_per_restart", static_cast<double>(requests) / n);
    } else if (scenario == "kill") {
      // ---- A tenth of the servers killed (kill -9: nothing released),
      // then started again at once: each waits for its own old lease.
      std::vector<SimServer*> restarted;
      const int64_t t0 = MonotonicMs();
      for (size_t i = 0; i < n; i += 10) {
        fleet[i]->Kill();
        Restart(&fleet, &graveyard, i, static_cast<int>(i) < busy_count);
        restarted.push_back(fleet[i].get());
      }
      const double took =
          WaitHeld(restarted, static_cast<int>(restarted.size()), t0, options.timeout_s);
      if (took < 0) failed = true;
      uint64_t requests = 0;
      for (SimServer* s : restarted) requests += s->requests();
      int same = 0;
      for (size_t i = 0, k = 0; i < n; i += 10, ++k) {
        const SimServer* old = graveyard[graveyard.size() - restarted.size() + k].get();
        same += old->last_node_id() == fleet[i]->node_id() ? 1 : 0;
      }
      Figure("kill_restarted", static_cast<double>(restarted.size()));
      Figure("kill_all_held_again_s", took);
      Figure("kill_kept_their_node_id", same);
      Figure("kill_requests_per_restart",
             static_cast<double>(requests) / static_cast<double>(restarted.size()));
    }
  }

  for (auto& s : fleet) s->Stop();
  // Every ID any simulated server issued, once.
  std::vector<int64_t> all;
  for (const Fleet* f : {&fleet, &graveyard})
    for (const auto& s : *f) all.insert(all.end(), s->ids().begin(), s->ids().end());
  std::sort(all.begin(), all.end());
  const size_t duplicates =
      all.size() - static_cast<size_t>(std::unique(all.begin(), all.end()) - all.begin());
  Figure("ids_issued", static_cast<double>(all.size()));
  Figure("ids_duplicated", static_cast<double>(duplicates));
  uint64_t lost = 0;
  for (const Fleet* f : {&fleet, &graveyard})
    for (const auto& s : *f) lost += s->leases_lost();
  Figure("leases_lost", static_cast<double>(lost));
  if (!options.ids_out.empty()) {
    FILE* out = fopen(options.ids_out.c_str(), "w");
    if (out == nullptr) {
      failed = true;
    } else {
      for (int64_t id : all) fprintf(out, "%" PRId64 "\n", id);
      if (fclose(out) != 0) failed = true;
    }
  }
  cluster.Stop();
  return !failed && duplicates == 0 ? 0 : 1;
}
