// posix_state_store.cpp: atomic, durable replacement of the state file.
#include "posix_state_store.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace snowflake {

namespace {

// Retries on EINTR; a short write without an errno is reported as ENOSPC,
// which is what a short write to a regular file means.
bool WriteAll(int fd, const uint8_t* data, size_t length, int* err) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    if (n == 0) {
      *err = ENOSPC;
      return false;
    }
    data += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

PosixStateStore::PosixStateStore(const char* directory, const char* file_name) {
  // A cut-off path could make the file and its .tmp the same file; refuse it.
  const int n = snprintf(temp_path_, sizeof temp_path_, "%s/%s.tmp", directory, file_name);
  const int m =
      snprintf(new_temp_path_, sizeof new_temp_path_, "%s.tmp/%s.tmp", directory, file_name);
  path_too_long_ = n < 0 || static_cast<size_t>(n) >= sizeof temp_path_ || m < 0 ||
                   static_cast<size_t>(m) >= sizeof new_temp_path_;
  snprintf(new_directory_, sizeof new_directory_, "%s.tmp", directory);
  snprintf(new_file_path_, sizeof new_file_path_, "%s.tmp/%s", directory, file_name);
  snprintf(directory_, sizeof directory_, "%s", directory);
  snprintf(file_path_, sizeof file_path_, "%s/%s", directory, file_name);
  snprintf(parent_, sizeof parent_, "%s", directory);
  char* slash = strrchr(parent_, '/');
  if (slash == nullptr) {
    snprintf(parent_, sizeof parent_, ".");
  } else if (slash == parent_) {
    slash[1] = '\0';  // "/dir": the parent is the root
  } else {
    *slash = '\0';
  }
}

void PosixStateStore::SetCreateModes(mode_t directory_mode, mode_t file_mode) {
  directory_mode_ = directory_mode;
  file_mode_ = file_mode;
}

namespace {

Status FsyncDirectory(const char* path, const char* what) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error(StatusCode::kIoError, what, errno);
  if (fsync(fd) != 0) {
    const int err = errno;
    close(fd);
    return Status::Error(StatusCode::kIoError, what, err);
  }
  close(fd);
  return Status::Ok();
}

}  // namespace

Status PosixStateStore::EnsureDirectory(bool* created) {
  if (created != nullptr) *created = false;
  if (path_too_long_) {
    return Status::Error(StatusCode::kIoError, "the state directory path is too long",
                         ENAMETOOLONG);
  }
  if (mkdir(directory_, directory_mode_) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::Error(StatusCode::kIoError, "could not create the state directory", errno);
  }
  if (created != nullptr) *created = true;
  return FsyncDirectory(parent_, "could not fsync the parent of the state directory");
}

namespace {

// Removes <directory>.tmp with the files a first start or a Save() puts in
// it; anything else in it is refused. ENOENT (nothing left over) is fine.
Status RemoveNewDirectory(const char* dir, const char* file, const char* temp) {
  for (const char* path : {file, temp}) {
    if (unlink(path) != 0 && errno != ENOENT) {
      return Status::Error(StatusCode::kIoError,
                           "could not remove a leftover temporary state directory", errno);
    }
  }
  if (rmdir(dir) != 0 && errno != ENOENT) {
    return Status::Error(StatusCode::kIoError,
                         "could not remove a leftover temporary state directory", errno);
  }
  return Status::Ok();
}

}  // namespace

Status PosixStateStore::CreateDirectoryWithState(const PersistedState& initial, bool* created) {
  *created = false;
  if (path_too_long_) {
    return Status::Error(StatusCode::kIoError, "the state directory path is too long",
                         ENAMETOOLONG);
  }
  struct stat st;
  if (lstat(directory_, &st) == 0) return Status::Ok();  // not a first start
  if (errno != ENOENT) {
    return Status::Error(StatusCode::kIoError, "could not look up the state directory", errno);
  }

  Status status = RemoveNewDirectory(new_directory_, new_file_path_, new_temp_path_);
  if (!status.ok()) return status;
  if (mkdir(new_directory_, directory_mode_) != 0) {
    return Status::Error(StatusCode::kIoError, "could not create the temporary state directory",
                         errno);
  }

  uint8_t bytes[kStateFileSize];
  EncodeStateFile(initial, bytes);
  int err = 0;
  const char* failed_step = nullptr;
  int fd = open(new_file_path_, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, file_mode_);
  if (fd < 0) {
    err = errno;
    failed_step = "could not create the first state file";
  } else {
    if (!WriteAll(fd, bytes, sizeof bytes, &err)) {
      failed_step = "could not write the first state file";
    } else if (fsync(fd) != 0) {
      err = errno;
      failed_step = "could not fsync the first state file";
    }
    if (close(fd) != 0 && failed_step == nullptr) {
      err = errno;
      failed_step = "could not close the first state file";
    }
  }
  if (failed_step == nullptr) {
    status = FsyncDirectory(new_directory_, "could not fsync the temporary state directory");
    if (!status.ok()) {
      err = status.sys_errno;
      failed_step = status.what;
    }
  }
  if (failed_step == nullptr && rename(new_directory_, directory_) != 0) {
    err = errno;
    failed_step = "could not rename the temporary state directory into place";
  }
  if (failed_step != nullptr) {
    // Best effort: a leftover is removed by the next first start anyway.
    (void)RemoveNewDirectory(new_directory_, new_file_path_, new_temp_path_);
    return Status::Error(StatusCode::kIoError, failed_step, err);
  }
  // The directory is in place with its file; only the rename's durability is
  // left. Should that fail, a crash leaves either no directory (a first start
  // again) or the complete one: both safe, as nothing was issued yet.
  status = FsyncDirectory(parent_, "could not fsync the parent of the state directory");
  if (status.ok()) *created = true;
  return status;
}

Status PosixStateStore::Load(PersistedState* state) {
  if (path_too_long_) {
    return Status::Error(StatusCode::kIoError, "the state directory path is too long",
                         ENAMETOOLONG);
  }
  int fd = open(file_path_, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Error(StatusCode::kNotFound, "no state file");
    return Status::Error(StatusCode::kIoError, "could not open the state file", errno);
  }
  // Read one byte more than expected, so that a longer file is caught.
  uint8_t buffer[kStateFileSize + 1];
  size_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buffer + total, sizeof buffer - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::Error(StatusCode::kIoError, "could not read the state file", err);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    if (total == sizeof buffer) break;
  }
  close(fd);
  return DecodeStateFile(buffer, total, state);
}

Status PosixStateStore::Save(const PersistedState& state) {
  if (path_too_long_) {
    return Status::Error(StatusCode::kIoError, "the state directory path is too long",
                         ENAMETOOLONG);
  }
  uint8_t bytes[kStateFileSize];
  EncodeStateFile(state, bytes);

  int fd = open(temp_path_, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, file_mode_);
  if (fd < 0) {
    return Status::Error(StatusCode::kIoError, "could not create the temporary state file", errno);
  }
  int err = 0;
  const char* failed_step = nullptr;
  if (!WriteAll(fd, bytes, sizeof bytes, &err)) {
    failed_step = "could not write the temporary state file";
  } else if (fsync(fd) != 0) {
    err = errno;
    failed_step = "could not fsync the temporary state file";
  }
  if (close(fd) != 0 && failed_step == nullptr) {
    err = errno;
    failed_step = "could not close the temporary state file";
  }
  if (failed_step == nullptr && rename(temp_path_, file_path_) != 0) {
    err = errno;
    failed_step = "could not rename the temporary state file into place";
  }
  if (failed_step != nullptr) {
    unlink(temp_path_);  // best effort: the old state file is untouched
    return Status::Error(StatusCode::kIoError, failed_step, err);
  }

  // The rename is only durable once the directory entry is.
  return FsyncDirectory(directory_, "could not fsync the state directory");
}

}  // namespace snowflake
