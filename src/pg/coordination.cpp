/*
 * coordination.cpp: node ids leased from etcd. See coordination.h for the
 * locking rules and src/core/node_lease.h for why a node id held this way
 * cannot repeat an ID.
 *
 * The etcd client and the lease are C++ objects with destructors; they live
 * in the reservation writer only, made once with new and never destroyed,
 * so no frame that can reach ereport() owns one. Every call into them
 * returns a Status, and the ereport()s come after.
 */
#include "pg_headers.h"

#include "coordination.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "../core/etcd_client.h"
#include "../core/lease_keeper.h"
#include "../core/node_lease.h"
#include "../core/reservation.h"
#include "layout_time.h"
#include "settings.h"
#include "shared_state.h"

/* The writer's objects (see the file comment). */
static snowflake::CurlEtcdClient* writer_etcd = nullptr;
static snowflake::NodeLease* writer_lease = nullptr;
static snowflake::LeaseKeeper* writer_keeper = nullptr;
static LeaseStatus logged_status = LeaseStatus::kStarting;
/* The published fence whose expiry was counted last (StoreFence); 0: none. */
static int64_t counted_expired_fence_ms = 0;

void InitCoordinationShared(CoordinationShared* c, int32_t preferred_node_id,
                            int64_t remembered_lease_id) {
  c->enabled = CoordinationConfigured();
  c->status.store(static_cast<int32_t>(c->enabled ? LeaseStatus::kStarting : LeaseStatus::kOff));
  c->valid_until_ms.store(0);
  c->high_water_ms.store(-1);
  c->high_water_wanted_ms.store(-1);
  c->lease_id.store(remembered_lease_id);
  c->preferred_node_id.store(preferred_node_id);
  c->taken_node_id.store(-1);
  c->writer_latch.store(nullptr);
  c->claims.store(0);
  c->leases_lost.store(0);
  c->fence_expirations.store(0);
  SpinLockInit(&c->mutex);
  c->detail[0] = '\0';
}

const char* LeaseStatusName(LeaseStatus status) {
  switch (status) {
    case LeaseStatus::kOff:
    case LeaseStatus::kHeld:
      return "ready";
    case LeaseStatus::kStarting:
      return "claiming node id";
    case LeaseStatus::kTaken:
      return "node id held by another server";
    case LeaseStatus::kUnavailable:
      return "etcd unavailable";
    case LeaseStatus::kNoFreeNodeId:
      return "no free node id";
    case LeaseStatus::kEtcdError:
      return "etcd error";
    case LeaseStatus::kStopped:
      return "node id released";
  }
  return "unknown";
}

static void CopyDetail(const CoordinationShared* coordination, char* out, size_t size) {
  CoordinationShared* c = const_cast<CoordinationShared*>(coordination);
  SpinLockAcquire(&c->mutex);
  strlcpy(out, c->detail, size);
  SpinLockRelease(&c->mutex);
}

static void SetStatus(CoordinationShared* c, LeaseStatus status, const char* detail) {
  SpinLockAcquire(&c->mutex);
  strlcpy(c->detail, detail, sizeof c->detail);
  SpinLockRelease(&c->mutex);
  c->status.store(static_cast<int32_t>(status), std::memory_order_release);
}

void ReportNodeLeaseNotHeld(const CoordinationShared* c) {
  char detail[sizeof c->detail];
  CopyDetail(c, detail, sizeof detail);
  const LeaseStatus status = static_cast<LeaseStatus>(c->status.load());
  switch (status) {
    case LeaseStatus::kTaken:
      ereport(ERROR,
              (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
               errmsg("snowflake node id %d is held by another server", c->taken_node_id.load()),
               errdetail("It is held by %s.", detail),
               errhint("Give this server a snowflake.node_id that no other server uses, or leave "
                       "it unset so that etcd assigns a free one, and restart it; or stop the "
                       "other server. This server keeps trying, and issues IDs as soon as the "
                       "node id is free.")));
      break;
    case LeaseStatus::kNoFreeNodeId:
      ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                      errmsg("snowflake could not be assigned a node id: all 1024 are held"),
                      errdetail("etcd: %s", detail),
                      errhint("Stop a server of the fleet, or use another snowflake.etcd_prefix "
                              "for another fleet. This server keeps trying.")));
      break;
    case LeaseStatus::kEtcdError:
      ereport(ERROR,
              (errcode(ERRCODE_SYSTEM_ERROR),
               errmsg("snowflake cannot hold a node id: etcd refused the request"),
               errdetail("etcd: %s", detail),
               errhint("Check snowflake.etcd_user, snowflake.etcd_password_file and the "
                       "snowflake.etcd_ssl_* settings against etcd's configuration; the server "
                       "log has the details.")));
      break;
    case LeaseStatus::kStopped:
      ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                      errmsg("snowflake released its node id: the reservation writer stopped"),
                      errdetail("The server is shutting down, or the \"snowflake reservation "
                                "writer\" process was terminated; it starts again within a "
                                "second and claims a node id."),
                      errhint("Retry in a moment.")));
      break;
    case LeaseStatus::kStarting:
      ereport(ERROR,
              (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
               errmsg("snowflake has not claimed its node id in etcd yet"),
               errdetail("With snowflake.etcd_endpoints set, IDs are issued only under a node-id "
                         "lease.%s%s",
                         detail[0] != '\0' ? " " : "", detail),
               errhint("Retry in a moment. If it lasts, check that etcd is reachable at "
                       "snowflake.etcd_endpoints; the server log says what happened.")));
      break;
    case LeaseStatus::kOff:
    case LeaseStatus::kHeld:
    case LeaseStatus::kUnavailable:
      ereport(ERROR,
              (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
               errmsg("snowflake cannot confirm its node-id lease with etcd"),
               errdetail("IDs stop before the lease could expire, so that no other server can "
                         "hold the node id at the same time.%s%s",
                         detail[0] != '\0' ? " etcd: " : "", detail),
               errhint("Check that etcd is reachable at snowflake.etcd_endpoints. IDs resume by "
                       "themselves once it answers.")));
      break;
  }
  pg_unreachable();
}

bool WaitForHighWater(SnowflakeShared* shared, int64_t needed_ms) {
  CoordinationShared* c = &shared->coordination;
  int64_t wanted = c->high_water_wanted_ms.load();
  while (wanted < needed_ms && !c->high_water_wanted_ms.compare_exchange_weak(wanted, needed_ms)) {
  }
  Latch* latch = c->writer_latch.load();
  if (latch != nullptr) SetLatch(latch);
  /* One etcd round trip normally; at most a few request timeouts (5 s each at most). */
  constexpr int64_t kHighWaterWaitMs = 16000;
  const int64_t give_up_ms = snowflake_monotonic_clock.NowMs() + kHighWaterWaitMs;
  bool raised = false;
  for (;;) {
    if (c->high_water_ms.load() >= needed_ms) {
      raised = true;
      break;
    }
    const int64_t now = snowflake_monotonic_clock.NowMs();
    if (now >= c->valid_until_ms.load() || now >= give_up_ms) break;
    (void)ConditionVariableTimedSleep(&shared->renewal_done, 10, PG_WAIT_EXTENSION);
  }
  ConditionVariableCancelSleep();
  return raised;
}

/*
 * Reads the password file, which only the server's OS user (or root, with
 * group read at most) may read, as PostgreSQL requires of ssl_key_file.
 * Returns false with *error set.
 */
static bool FileIsPrivate(const char* path, char* error, size_t error_size) {
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(error, error_size, "could not access \"%s\": %s", path, strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(error, error_size, "\"%s\" is not a regular file", path);
    return false;
  }
  const bool own = st.st_uid == geteuid();
  if ((own && (st.st_mode & (S_IRWXG | S_IRWXO))) ||
      (st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO))) ||
      (!own && st.st_uid != 0)) {
    snprintf(error, error_size,
             "\"%s\" has group or world access, or another owner; it must be owned by the "
             "server's user (mode 0600 or less) or by root (mode 0640 or less)",
             path);
    return false;
  }
  return true;
}

static bool ReadPassword(const char* path, std::string* password, char* error, size_t size) {
  if (!FileIsPrivate(path, error, size)) return false;
  FILE* file = fopen(path, "r");
  if (file == nullptr) {
    snprintf(error, size, "could not open \"%s\": %s", path, strerror(errno));
    return false;
  }
  char line[1024];
  const bool read = fgets(line, sizeof line, file) != nullptr;
  fclose(file);
  if (!read) {
    snprintf(error, size, "\"%s\" is empty", path);
    return false;
  }
  line[strcspn(line, "\r\n")] = '\0';
  password->assign(line);
  explicit_bzero(line, sizeof line);
  return true;
}

/*
 * The client's configuration from the settings. Used by the writer and by
 * snowflake_fleet(); only C++ values, filled without ereport().
 */
bool BuildEtcdClientConfig(snowflake::EtcdClientConfig* config, char* error, size_t size) {
  std::string why;
  if (!snowflake::ParseEtcdEndpoints(etcd_endpoints_setting, &config->endpoints, &why)) {
    snprintf(error, size, "snowflake.etcd_endpoints: %s", why.c_str());
    return false;
  }
  config->ca_file = etcd_ssl_ca_file_setting;
  config->cert_file = etcd_ssl_cert_file_setting;
  config->key_file = etcd_ssl_key_file_setting;
  if (!config->key_file.empty() && !FileIsPrivate(config->key_file.c_str(), error, size))
    return false;
  config->user = etcd_user_setting;
  if (!config->user.empty()) {
    if (etcd_password_file_setting[0] == '\0') {
      snprintf(error, size, "snowflake.etcd_user is set but snowflake.etcd_password_file is not");
      return false;
    }
    if (!ReadPassword(etcd_password_file_setting, &config->password, error, size)) return false;
  }
  /*
   * A request that gets no answer in a fifth of the TTL moves on to the next
   * endpoint; the fence leaves room for that and a keep-alive after it.
   */
  const int64_t ttl_ms = int64_t{node_lease_ttl_setting_s} * 1000;
  config->request_timeout_ms = snowflake::EtcdRequestTimeoutMs(ttl_ms);
  config->connect_timeout_ms = std::min<int64_t>(1000, config->request_timeout_ms);
  return true;
}

static snowflake::LeaseKeeperHost* NewWriterLeaseHost(SnowflakeShared* shared);

static bool CreateWriterObjects(SnowflakeShared* shared, char* error, size_t size) {
  const int64_t remembered_lease_id = shared->coordination.lease_id.load();
  snowflake::EtcdClientConfig config;
  if (!BuildEtcdClientConfig(&config, error, size)) return false;
  if (!snowflake::EtcdGlobalInit()) {
    snprintf(error, size, "libcurl could not be initialised");
    return false;
  }
  snowflake::HolderIdentity self;
  char host[256] = "";
  (void)gethostname(host, sizeof host - 1);
  self.host = host;
  self.port = PostPortNumber;
  self.system_identifier = GetSystemIdentifier();
  self.data_directory = DataDir;
  self.started_at_ms = TimestampTzToUnixMs(PgStartTime);
  snowflake::NodeLeaseOptions options;
  options.prefix = etcd_prefix_setting;
  options.ttl_ms = int64_t{node_lease_ttl_setting_s} * 1000;
  const int64_t ttl_ms = options.ttl_ms;
  writer_etcd = new snowflake::CurlEtcdClient(std::move(config));
  writer_lease = new snowflake::NodeLease(writer_etcd, &snowflake_monotonic_clock,
                                          std::move(options), std::move(self));
  if (remembered_lease_id != 0) writer_lease->AdoptLease(remembered_lease_id);
  writer_keeper = new snowflake::LeaseKeeper(writer_lease, &shared->generator,
                                             NewWriterLeaseHost(shared), node_id_setting, ttl_ms);
  return true;
}

/*
 * Every store of the fence goes through here. A published fence that is
 * replaced only after it ran out expired while the node id was held: calls
 * were refused (55P03) from then until now, and that counts once. The
 * writer is the only process that stores it (coordination.h).
 */
static void StoreFence(CoordinationShared* c, int64_t valid_until_ms) {
  const int64_t published = c->valid_until_ms.load(std::memory_order_relaxed);
  if (published != 0 && published != counted_expired_fence_ms &&
      snowflake_monotonic_clock.NowMs() >= published) {
    counted_expired_fence_ms = published;
    c->fence_expirations.fetch_add(1);
  }
  c->valid_until_ms.store(valid_until_ms, std::memory_order_release);
}

/* At the writer's exit: stop issuing, then give the node id back. */
static void ReleaseAtExit(int, Datum arg) {
  SnowflakeShared* shared = reinterpret_cast<SnowflakeShared*>(DatumGetPointer(arg));
  CoordinationShared* c = &shared->coordination;
  StoreFence(c, 0);
  /*
   * No node id is held from here on (coordination.h: why not under the lock).
   * No reservation grows past this point (the cap is gone), so the mark may
   * come back down to it (NodeLease::Release).
   */
  c->high_water_ms.store(-1);
  /* (Held already when an error ends the writer in the middle of a renewal.) */
  const bool lock_here = !LWLockHeldByMe(shared->lock);
  if (lock_here) AcquireRenewalLock(shared);
  const int64_t reserved_ms = shared->generator.reserved_until_ms.load();
  if (lock_here) ReleaseRenewalLock(shared);
  c->writer_latch.store(nullptr);
  if (writer_lease == nullptr) return;
  const bool held = writer_lease->held();
  const int32_t node_id = writer_lease->node_id();
  const snowflake::Status status = writer_lease->Release(reserved_ms);
  c->lease_id.store(0);
  SetStatus(c, LeaseStatus::kStopped, "");
  if (held && status.ok())
    ereport(LOG, (errmsg("snowflake: released node id %d in etcd", node_id)));
}

void CoordinationWriterStart(SnowflakeShared* shared) {
  CoordinationShared* c = &shared->coordination;
  if (!c->enabled) return;
  char error[512];
  if (!CreateWriterObjects(shared, error, sizeof error)) {
    SetStatus(c, LeaseStatus::kEtcdError, error);
    ereport(WARNING, (errmsg("snowflake: cannot use etcd: %s", error),
                      errdetail("No node id is claimed, so no ID is issued."),
                      errhint("Correct the snowflake.etcd_* settings and restart the server.")));
    return;
  }
  before_shmem_exit(ReleaseAtExit, PointerGetDatum(shared));
  c->writer_latch.store(MyLatch);
}

/* Logs a change of lease status once, at the level it deserves. */
static void LogStatusChange(LeaseStatus status, int32_t node_id, const char* detail) {
  if (status == logged_status) return;
  logged_status = status;
  switch (status) {
    case LeaseStatus::kTaken:
      ereport(WARNING,
              (errmsg("snowflake: node id %d is held by another server; not issuing", node_id),
               errdetail("It is held by %s.", detail),
               errhint("This server keeps trying and issues IDs once the node id is free.")));
      break;
    case LeaseStatus::kUnavailable:
      ereport(WARNING, (errmsg("snowflake: etcd does not answer: %s", detail),
                        errdetail("IDs stop before the node-id lease could expire; they resume "
                                  "once etcd answers.")));
      break;
    case LeaseStatus::kNoFreeNodeId:
    case LeaseStatus::kEtcdError:
      ereport(WARNING, (errmsg("snowflake: cannot claim a node id in etcd: %s", detail)));
      break;
    default:
      break;
  }
}

/*
 * The reservation writer's side of the lease: the LeaseKeeper (core) decides
 * what to send etcd and when; this host publishes what it decided to the
 * other processes and logs it. The callbacks run inside LeaseKeeper::Step()
 * and raise nothing above WARNING (which returns), so no ERROR longjmps
 * over its frames.
 */
class WriterLeaseHost final : public snowflake::LeaseKeeperHost {
 public:
  explicit WriterLeaseHost(SnowflakeShared* shared) : shared_(shared) {}

  void LockRenewals() override { AcquireRenewalLock(shared_); }
  void UnlockRenewals() override { ReleaseRenewalLock(shared_); }

  void OnClaimedLocked(const snowflake::ClaimOutcome& outcome, int64_t start_after_ms) override {
    snowflake::SetNodeId(&shared_->generator, outcome.node_id, start_after_ms);
    shared_->coordination.high_water_ms.store(writer_lease->high_water_ms());
  }

  void OnClaimed(const snowflake::ClaimOutcome& outcome) override {
    CoordinationShared* c = &shared_->coordination;
    c->lease_id.store(writer_lease->lease_id());
    c->claims.fetch_add(1);
    SetStatus(c, LeaseStatus::kHeld, "");
    logged_status = LeaseStatus::kHeld;
    PublishFence(c);
    ConditionVariableBroadcast(&shared_->renewal_done);
    const int64_t mark = outcome.high_water_ms;
    if (mark >= 0)
      ereport(LOG, (errmsg("snowflake: holding node id %d in etcd; IDs continue after its "
                           "high-water mark %s",
                           outcome.node_id, LayoutMsToText(mark))));
    else
      ereport(LOG, (errmsg("snowflake: holding node id %d in etcd; it had no high-water mark",
                           outcome.node_id)));
  }

  void OnClaimFailed(const snowflake::Status& status, const snowflake::ClaimOutcome& outcome,
                     bool previous_run) override {
    CoordinationShared* c = &shared_->coordination;
    char detail[sizeof c->detail];
    switch (status.code) {
      case snowflake::StatusCode::kNodeIdTaken:
        DescribeHolder(outcome, previous_run, detail, sizeof detail);
        c->taken_node_id.store(outcome.node_id);
        SetStatus(c, LeaseStatus::kTaken, detail);
        LogStatusChange(LeaseStatus::kTaken, outcome.node_id, detail);
        return;
      case snowflake::StatusCode::kNoFreeNodeId:
        SetStatus(c, LeaseStatus::kNoFreeNodeId, status.what);
        LogStatusChange(LeaseStatus::kNoFreeNodeId, -1, status.what);
        return;
      case snowflake::StatusCode::kEtcdError:
        snprintf(detail, sizeof detail, "%s: %s", status.what,
                 writer_etcd->LastErrorDetail().c_str());
        SetStatus(c, LeaseStatus::kEtcdError, detail);
        LogStatusChange(LeaseStatus::kEtcdError, -1, detail);
        return;
      default:
        snprintf(detail, sizeof detail, "%s", writer_etcd->LastErrorDetail().c_str());
        SetStatus(c, LeaseStatus::kUnavailable, detail);
        LogStatusChange(LeaseStatus::kUnavailable, -1, detail);
        return;
    }
  }

  /* The lease is gone: stop at once (the keeper claims again right away). */
  void OnLeaseLost(int32_t node_id) override {
    CoordinationShared* c = &shared_->coordination;
    StoreFence(c, 0);
    /* No reservation against the lost node id's mark any more (under the lock: see the keeper's
       AfterClaim). */
    AcquireRenewalLock(shared_);
    c->high_water_ms.store(-1);
    ReleaseRenewalLock(shared_);
    c->leases_lost.fetch_add(1);
    SetStatus(c, LeaseStatus::kStarting, "the lease on the node id was lost; claiming it again");
    logged_status = LeaseStatus::kStarting;
    ereport(WARNING, (errmsg("snowflake: lost the etcd lease on node id %d; not issuing until it "
                             "is claimed again",
                             node_id)));
  }

  void OnSecondHolder(int32_t node_id) override {
    ereport(WARNING,
            (errmsg("snowflake: another process holds node id %d under this server's own etcd "
                    "lease; stopped issuing and revoked the lease",
                    node_id),
             errdetail("The node id's high-water mark stands above anything this server wrote: "
                       "a copy of this server runs with its memory (a virtual machine cloned "
                       "while running, or restored from a memory snapshot), and both issued the "
                       "same IDs until now. Each copy must claim a node id anew, above the mark."),
             errhint("Find the copy and stop it; a copy that is to run on must have its own "
                     "data directory and node id.")));
  }

  void OnRoundFailed(const snowflake::Status&, int32_t node_id) override {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", writer_etcd->LastErrorDetail().c_str());
    SetStatus(&shared_->coordination, LeaseStatus::kUnavailable, detail);
    LogStatusChange(LeaseStatus::kUnavailable, node_id, detail);
  }

  void OnKeptAlive(int32_t node_id) override {
    if (logged_status != LeaseStatus::kHeld) {
      ereport(LOG, (errmsg("snowflake: etcd answers again; holding node id %d", node_id)));
      logged_status = LeaseStatus::kHeld;
    }
    SetStatus(&shared_->coordination, LeaseStatus::kHeld, "");
  }

  void OnHighWaterRaised() override {
    shared_->coordination.high_water_ms.store(writer_lease->high_water_ms());
    ConditionVariableBroadcast(&shared_->renewal_done);
  }

 private:
  static void PublishFence(CoordinationShared* c) { StoreFence(c, writer_lease->valid_until_ms()); }

  static void DescribeHolder(const snowflake::ClaimOutcome& outcome, bool previous_run, char* out,
                             size_t size) {
    const snowflake::HolderIdentity& h = outcome.holder;
    char left[64] = "";
    if (outcome.holder_ttl_left_s >= 0)
      snprintf(left, sizeof left, "; its lease expires in %lld s unless renewed",
               (long long)outcome.holder_ttl_left_s);
    snprintf(out, size, "%shost \"%s\", port %d, system identifier %llu, data directory \"%s\"%s",
             previous_run ? "this server's previous run (killed without releasing it): " : "",
             h.host.c_str(), h.port, (unsigned long long)h.system_identifier,
             h.data_directory.c_str(), left);
  }

  SnowflakeShared* shared_;
};

static snowflake::LeaseKeeperHost* NewWriterLeaseHost(SnowflakeShared* shared) {
  return new WriterLeaseHost(shared);
}

void CoordinationWriterStep(SnowflakeShared* shared, int64_t now_ms) {
  CoordinationShared* c = &shared->coordination;
  if (!c->enabled || writer_keeper == nullptr) return;
  snowflake::LeaseKeeperInput input;
  input.now_ms = now_ms;
  input.monotonic_ms = snowflake_monotonic_clock.NowMs();
  input.wanted_high_water_ms = c->high_water_wanted_ms.load();
  input.preferred_node_id = c->preferred_node_id.load();
  writer_keeper->Step(input);
  StoreFence(c, writer_lease->valid_until_ms());
}
