// posix_state_store.h: the state file on a POSIX file system.
//
// Owns: the file <directory>/state and its temporary sibling state.tmp.
// Threading: as StateStore; one Save() at a time.
//
// Save() writes state.tmp, fsyncs it, renames it over state and fsyncs the
// directory: a crash leaves either the old or the new file, never a torn one.
// Everything is in fixed buffers, so the store allocates nothing.
#ifndef SNOWFLAKE_CORE_POSIX_STATE_STORE_H
#define SNOWFLAKE_CORE_POSIX_STATE_STORE_H

#include "state_store.h"

namespace snowflake {

class PosixStateStore final : public StateStore {
 public:
  static constexpr int kMaxPath = 1024;

  // directory must exist (see EnsureDirectory) and outlive nothing: the
  // path is copied.
  explicit PosixStateStore(const char* directory);

  // Creates the directory (mode 0700) if it is missing, and makes the new
  // entry durable (fsync of the parent). *created (if given) tells whether it
  // was missing: the caller's way to tell a first start from a lost file.
  Status EnsureDirectory(bool* created = nullptr);

  Status Load(PersistedState* state) override;
  Status Save(const PersistedState& state) override;

  const char* file_path() const { return file_path_; }
  const char* directory() const { return directory_; }

 private:
  bool path_too_long_;
  char directory_[kMaxPath];
  char parent_[kMaxPath];
  char file_path_[kMaxPath];
  char temp_path_[kMaxPath];
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_POSIX_STATE_STORE_H
