// posix_state_store_test.cpp: the state file on a real file system, in a
// fresh temporary directory per test.
#include "posix_state_store.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <csignal>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "printers.h"

#include "layout.h"
#include "state_file.h"

namespace snowflake {
namespace {

namespace fs = std::filesystem;

class PosixStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/snowflake_store_test_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr) << std::strerror(errno);
    root_ = buf.data();
    dir_ = root_ + "/snowflake";
  }

  void TearDown() override {
    if (root_.empty()) return;
    std::error_code ec;
    // Undo any chmod first, so that everything can be removed.
    for (const fs::path& p : {fs::path(root_), fs::path(dir_)}) {
      if (fs::is_directory(p, ec)) ::chmod(p.c_str(), 0700);
    }
    fs::remove_all(root_, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  // The store directory, created.
  std::string MakeDir() {
    EXPECT_EQ(::mkdir(dir_.c_str(), 0700), 0) << std::strerror(errno);
    return dir_;
  }

  std::string StatePath() const { return dir_ + "/state"; }
  std::string TempPath() const { return dir_ + "/state.tmp"; }

  static bool Exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  static std::vector<uint8_t> ReadFile(const std::string& path) {
    std::vector<uint8_t> out;
    const int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    if (fd < 0) return out;
    uint8_t buf[256];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
  }

  static void WriteFile(const std::string& path, const std::vector<uint8_t>& data) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    if (!data.empty()) {
      ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    }
    ASSERT_EQ(::close(fd), 0);
  }

  static std::vector<uint8_t> Encoded(const PersistedState& s) {
    uint8_t bytes[kStateFileSize];
    EncodeStateFile(s, bytes);
    return std::vector<uint8_t>(bytes, bytes + kStateFileSize);
  }

  std::string root_;
  std::string dir_;
};

TEST_F(PosixStateStoreTest, PathsAreInTheDirectory) {
  PosixStateStore store(dir_.c_str());
  EXPECT_EQ(std::string(store.directory()), dir_);
  EXPECT_EQ(std::string(store.file_path()), StatePath());
}

TEST_F(PosixStateStoreTest, LoadOfMissingFileIsNotFound) {
  MakeDir();
  PosixStateStore store(dir_.c_str());
  PersistedState out{-5, -5};
  const Status s = store.Load(&out);
  EXPECT_EQ(s.code, StatusCode::kNotFound);
  EXPECT_EQ(out.node_id, -5);
  EXPECT_EQ(out.reserved_until_ms, -5);
  EXPECT_FALSE(Exists(StatePath())) << "Load must not create the file";
}

TEST_F(PosixStateStoreTest, SaveThenLoadRoundTrips) {
  MakeDir();
  PosixStateStore store(dir_.c_str());
  const PersistedState saved{617, 31'536'000'123};
  ASSERT_TRUE(store.Save(saved).ok());

  PersistedState out{-5, -5};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.node_id, saved.node_id);
  EXPECT_EQ(out.reserved_until_ms, saved.reserved_until_ms);
  EXPECT_EQ(ReadFile(StatePath()), Encoded(saved)) << "the file is exactly the encoded state";

  // A second store object on the same directory (a restart) reads the same.
  PosixStateStore again(dir_.c_str());
  PersistedState out2{-5, -5};
  ASSERT_TRUE(again.Load(&out2).ok());
  EXPECT_EQ(out2.reserved_until_ms, saved.reserved_until_ms);
}

TEST_F(PosixStateStoreTest, SaveReplacesAndLeavesNoTemporaryFile) {
  MakeDir();
  PosixStateStore store(dir_.c_str());
  for (int64_t reserved : {int64_t{1000}, int64_t{2500}, kMaxTimestampMs, int64_t{0}}) {
    SCOPED_TRACE(reserved);
    ASSERT_TRUE(store.Save(PersistedState{3, reserved}).ok());
    EXPECT_FALSE(Exists(TempPath())) << "state.tmp left behind";
    PersistedState out{-5, -5};
    ASSERT_TRUE(store.Load(&out).ok());
    EXPECT_EQ(out.reserved_until_ms, reserved);
    EXPECT_EQ(out.node_id, 3);
  }
  // Only the state file is in the directory.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"state"});
  struct stat st;
  ASSERT_EQ(::stat(StatePath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the state file is private";
  EXPECT_EQ(st.st_size, static_cast<off_t>(kStateFileSize));
}

TEST_F(PosixStateStoreTest, TwoFileNamesShareADirectoryApart) {
  MakeDir();
  PosixStateStore state(dir_.c_str());
  PosixStateStore own(dir_.c_str(), "own_floor.PG_VERSION");
  EXPECT_EQ(std::string(own.file_path()), dir_ + "/own_floor.PG_VERSION");
  ASSERT_TRUE(state.Save(PersistedState{7, 1000}).ok());
  ASSERT_TRUE(own.Save(PersistedState{7, 2000}).ok());
  ASSERT_TRUE(state.Save(PersistedState{8, 1500}).ok());

  PersistedState out{-5, -5};
  ASSERT_TRUE(own.Load(&out).ok());
  EXPECT_EQ(out.node_id, 7) << "a save of the other file leaves this one as it was";
  EXPECT_EQ(out.reserved_until_ms, 2000);
  ASSERT_TRUE(state.Load(&out).ok());
  EXPECT_EQ(out.node_id, 8);
  EXPECT_EQ(out.reserved_until_ms, 1500);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"own_floor.PG_VERSION", "state"}))
      << "no temporary file is left behind";
}

TEST_F(PosixStateStoreTest, SaveOverAStaleTemporaryFile) {
  MakeDir();
  // A crash between creating state.tmp and the rename leaves it behind.
  WriteFile(TempPath(), std::vector<uint8_t>(100, 0xEE));
  PosixStateStore store(dir_.c_str());
  ASSERT_TRUE(store.Save(PersistedState{9, 4242}).ok());
  EXPECT_FALSE(Exists(TempPath()));
  PersistedState out{};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 4242);
}

TEST_F(PosixStateStoreTest, CorruptFileIsCorrupt) {
  MakeDir();
  PosixStateStore store(dir_.c_str());
  std::vector<uint8_t> valid = Encoded(PersistedState{5, 123456});
  std::vector<std::vector<uint8_t>> bad;
  bad.push_back({});                                                    // empty
  bad.push_back(std::vector<uint8_t>(valid.begin(), valid.end() - 1));  // short
  bad.push_back(valid);
  bad.back().push_back(0);  // one byte long
  bad.push_back(valid);
  bad.back().insert(bad.back().end(), valid.begin(), valid.end());  // twice
  bad.push_back(valid);
  bad.back()[17] ^= 0x10;  // a flipped bit in reserved_until
  bad.push_back(std::vector<uint8_t>(kStateFileSize, 0));
  bad.push_back(std::vector<uint8_t>(4096, 'x'));
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    WriteFile(StatePath(), bad[i]);
    PersistedState out{-5, -5};
    const Status s = store.Load(&out);
    EXPECT_EQ(s.code, StatusCode::kCorrupt);
    EXPECT_EQ(out.node_id, -5);
    EXPECT_EQ(ReadFile(StatePath()), bad[i]) << "Load must never rewrite the file";
  }
  // And the valid bytes, written the same way, do load.
  WriteFile(StatePath(), valid);
  PersistedState out{};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 123456);
}

TEST_F(PosixStateStoreTest, UnreadableStateIsAnIoErrorNotMissing) {
  MakeDir();
  ASSERT_EQ(::mkdir(StatePath().c_str(), 0700), 0);  // "state" is a directory
  PosixStateStore store(dir_.c_str());
  PersistedState out{-5, -5};
  const Status s = store.Load(&out);
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_EQ(s.sys_errno, EISDIR);
}

TEST_F(PosixStateStoreTest, ReadOnlyDirectoryMakesSaveFailAndKeepsTheOldState) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root, which ignores directory permission bits; "
                    "see SaveFailsWhenTheTemporaryFileCannotBeCreated for a root-proof variant";
  }
  MakeDir();
  PosixStateStore store(dir_.c_str());
  ASSERT_TRUE(store.Save(PersistedState{7, 5000}).ok());
  ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);

  const Status s = store.Save(PersistedState{7, 9000});
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_EQ(s.sys_errno, EACCES);
  EXPECT_NE(std::strlen(s.what), 0u);

  PersistedState out{-5, -5};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 5000);
  EXPECT_FALSE(Exists(TempPath()));

  // Writable again: Save works again.
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  ASSERT_TRUE(store.Save(PersistedState{7, 9000}).ok());
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 9000);
}

// Works as root too: state.tmp is a directory, so it cannot be opened for
// writing.
TEST_F(PosixStateStoreTest, SaveFailsWhenTheTemporaryFileCannotBeCreated) {
  MakeDir();
  PosixStateStore store(dir_.c_str());
  ASSERT_TRUE(store.Save(PersistedState{7, 5000}).ok());
  ASSERT_EQ(::mkdir(TempPath().c_str(), 0700), 0);

  const Status s = store.Save(PersistedState{7, 9000});
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_EQ(s.sys_errno, EISDIR);

  PersistedState out{-5, -5};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 5000) << "a failed Save keeps the previous state";

  ASSERT_EQ(::rmdir(TempPath().c_str()), 0);
  ASSERT_TRUE(store.Save(PersistedState{7, 9000}).ok());
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 9000);
}

// Works as root too: the rename fails (a non-empty directory is in the way),
// and the temporary file is cleaned up.
TEST_F(PosixStateStoreTest, FailedRenameRemovesTheTemporaryFile) {
  MakeDir();
  ASSERT_EQ(::mkdir(StatePath().c_str(), 0700), 0);
  WriteFile(StatePath() + "/keep", {1, 2, 3});
  PosixStateStore store(dir_.c_str());
  const Status s = store.Save(PersistedState{7, 9000});
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_NE(s.sys_errno, 0);
  EXPECT_FALSE(Exists(TempPath()));
  EXPECT_TRUE(Exists(StatePath() + "/keep"));
}

TEST_F(PosixStateStoreTest, SaveIntoAMissingDirectoryFails) {
  PosixStateStore store(dir_.c_str());  // never created
  const Status s = store.Save(PersistedState{1, 1});
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_EQ(s.sys_errno, ENOENT);
}

TEST_F(PosixStateStoreTest, EnsureDirectoryCreatesAMissingDirectory) {
  PosixStateStore store(dir_.c_str());
  ASSERT_FALSE(Exists(dir_));
  bool created = false;
  ASSERT_TRUE(store.EnsureDirectory(&created).ok());
  EXPECT_TRUE(created) << "a missing directory is reported as created";
  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0077, 0u) << "no access for group or others";

  // Idempotent, and keeps what is in it.
  ASSERT_TRUE(store.Save(PersistedState{2, 77}).ok());
  ASSERT_TRUE(store.EnsureDirectory(&created).ok());
  EXPECT_FALSE(created) << "an existing directory is not a first start";
  PersistedState out{};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 77);
}

TEST_F(PosixStateStoreTest, EnsureDirectoryFailsWithoutAParent) {
  const std::string nested = dir_ + "/a/b";
  PosixStateStore store(nested.c_str());
  const Status s = store.EnsureDirectory();
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_EQ(s.sys_errno, ENOENT);
}

// The first start (issue 8, item 2): all or nothing.
TEST_F(PosixStateStoreTest, FirstStartCreatesTheDirectoryWithItsFile) {
  PosixStateStore store(dir_.c_str());
  bool created = false;
  ASSERT_TRUE(store.CreateDirectoryWithState(PersistedState{3, 0}, &created).ok());
  EXPECT_TRUE(created);
  PersistedState out{};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.node_id, 3);
  EXPECT_EQ(out.reserved_until_ms, 0);
  EXPECT_FALSE(Exists(dir_ + ".tmp")) << "the temporary directory was renamed into place";
  EXPECT_FALSE(Exists(TempPath()));
  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(StatePath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(PosixStateStoreTest, CreateModesApplyToTheFirstStartAndToSaves) {
  const mode_t old_umask = ::umask(0027);  // PostgreSQL's with group access
  PosixStateStore store(dir_.c_str());
  store.SetCreateModes(0750, 0640);
  bool created = false;
  const Status s = store.CreateDirectoryWithState(PersistedState{3, 0}, &created);
  struct stat dir_st {
  }, first_st{}, saved_st{};
  ::stat(dir_.c_str(), &dir_st);
  ::stat(StatePath().c_str(), &first_st);
  const Status saved = store.Save(PersistedState{3, 10});
  ::stat(StatePath().c_str(), &saved_st);
  ::umask(old_umask);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(dir_st.st_mode & 0777, 0750u);
  EXPECT_EQ(first_st.st_mode & 0777, 0640u);
  EXPECT_EQ(saved_st.st_mode & 0777, 0640u);
}

TEST_F(PosixStateStoreTest, AnExistingDirectoryIsNotAFirstStart) {
  MakeDir();  // e.g. the file was lost: the directory alone is kept as it is
  PosixStateStore store(dir_.c_str());
  bool created = true;
  ASSERT_TRUE(store.CreateDirectoryWithState(PersistedState{3, 0}, &created).ok());
  EXPECT_FALSE(created);
  EXPECT_FALSE(Exists(StatePath())) << "a lost file is never quietly recreated";
  PersistedState out{};
  EXPECT_EQ(store.Load(&out).code, StatusCode::kNotFound);
}

TEST_F(PosixStateStoreTest, FirstStartReplacesWhatAKilledFirstStartLeft) {
  // A first start killed after writing the file but before the rename, with
  // a stray state.tmp as well: nothing was issued from either.
  ASSERT_EQ(::mkdir((dir_ + ".tmp").c_str(), 0700), 0);
  WriteFile(dir_ + ".tmp/state", Encoded(PersistedState{9, 12345}));
  WriteFile(dir_ + ".tmp/state.tmp", {1, 2, 3});
  PosixStateStore store(dir_.c_str());
  bool created = false;
  ASSERT_TRUE(store.CreateDirectoryWithState(PersistedState{3, 0}, &created).ok());
  EXPECT_TRUE(created);
  EXPECT_EQ(ReadFile(StatePath()), Encoded(PersistedState{3, 0}));
  EXPECT_FALSE(Exists(TempPath()));
  EXPECT_FALSE(Exists(dir_ + ".tmp"));

  // Killed right after mkdir: an empty leftover.
  const std::string other = root_ + "/other";
  ASSERT_EQ(::mkdir((other + ".tmp").c_str(), 0700), 0);
  PosixStateStore other_store(other.c_str());
  ASSERT_TRUE(other_store.CreateDirectoryWithState(PersistedState{4, 0}, &created).ok());
  EXPECT_TRUE(created);
  EXPECT_EQ(ReadFile(other + "/state"), Encoded(PersistedState{4, 0}));
}

TEST_F(PosixStateStoreTest, ALeftoverWithUnknownFilesIsRefusedNotRemoved) {
  ASSERT_EQ(::mkdir((dir_ + ".tmp").c_str(), 0700), 0);
  WriteFile(dir_ + ".tmp/notes.txt", {'h', 'i'});
  PosixStateStore store(dir_.c_str());
  bool created = true;
  const Status s = store.CreateDirectoryWithState(PersistedState{3, 0}, &created);
  EXPECT_EQ(s.code, StatusCode::kIoError);
  EXPECT_EQ(s.sys_errno, ENOTEMPTY);
  EXPECT_FALSE(created);
  EXPECT_FALSE(Exists(dir_));
  EXPECT_TRUE(Exists(dir_ + ".tmp/notes.txt"));
}

// A write that fails for real: the file size limit (RLIMIT_FSIZE) is 0, and
// SIGXFSZ is ignored, as PostgreSQL does, so write() fails with EFBIG.
TEST_F(PosixStateStoreTest, AFailedFirstWriteLeavesNoDirectory) {
  PosixStateStore store(dir_.c_str());
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit zero = old_limit;
  zero.rlim_cur = 0;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &zero), 0);
  bool created = true;
  const Status failed = store.CreateDirectoryWithState(PersistedState{3, 0}, &created);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(failed.code, StatusCode::kIoError);
  EXPECT_EQ(failed.sys_errno, EFBIG);
  EXPECT_STREQ(failed.what, "could not write the first state file");
  EXPECT_FALSE(created);
  EXPECT_FALSE(Exists(dir_)) << "a directory without its file would read as a lost file";
  EXPECT_FALSE(Exists(dir_ + ".tmp"));

  // The next start is a first start again, and succeeds.
  ASSERT_TRUE(store.CreateDirectoryWithState(PersistedState{3, 0}, &created).ok());
  EXPECT_TRUE(created);
  PersistedState out{};
  ASSERT_TRUE(store.Load(&out).ok());
  EXPECT_EQ(out.reserved_until_ms, 0);
}

}  // namespace
TEST(PosixStateStorePathTest, APathTooLongIsRefusedNotCutOff) {
  // Cut off, "<dir>/state" and "<dir>/state.tmp" could name the same file.
  const std::string long_dir(PosixStateStore::kMaxPath - 8, 'd');
  PosixStateStore store(long_dir.c_str());
  PersistedState state{1, 1};
  bool created = false;
  for (const Status& s : {store.EnsureDirectory(), store.Save(state), store.Load(&state),
                          store.CreateDirectoryWithState(state, &created)}) {
    EXPECT_EQ(s.code, StatusCode::kIoError);
    EXPECT_EQ(s.sys_errno, ENAMETOOLONG);
  }
}

}  // namespace snowflake
