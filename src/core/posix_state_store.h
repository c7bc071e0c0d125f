// posix_state_store.h: the state file on a POSIX file system.
//
// Owns: the file <directory>/<file name> ("state" unless told otherwise), its
// temporary sibling <file name>.tmp, and <directory>.tmp, where the first
// start prepares the directory. Two stores may share a directory if their
// file names differ (the glue keeps a second file there, src/pg/own_floor.h);
// only one of them prepares the directory.
// Threading: as StateStore; one Save() at a time.
//
// Save() writes <file name>.tmp, fsyncs it, renames it over the file and
// fsyncs the directory: a crash leaves either the old or the new file, never
// a torn one.
// New directories and files get the modes SetCreateModes() gave (0700 and
// 0600 unless told otherwise): the PostgreSQL glue passes the cluster's own,
// so the state follows initdb -g like the rest of the data directory.
// Everything is in fixed buffers, so the store allocates nothing.
#ifndef SNOWFLAKE_CORE_POSIX_STATE_STORE_H
#define SNOWFLAKE_CORE_POSIX_STATE_STORE_H

#include <sys/types.h>

#include "state_store.h"

namespace snowflake {

class PosixStateStore final : public StateStore {
 public:
  static constexpr int kMaxPath = 1024;

  // directory must exist (see EnsureDirectory) and outlive nothing: the
  // path and the file name are copied.
  explicit PosixStateStore(const char* directory, const char* file_name = "state");

  // Modes for the directories and files the store creates from now on (the
  // process umask still applies).
  void SetCreateModes(mode_t directory_mode, mode_t file_mode);

  // Creates the directory (see SetCreateModes) if it is missing, and makes the new
  // entry durable (fsync of the parent). *created (if given) tells whether it
  // was missing. Not for a first start: a failure between it and the first
  // Save() leaves a directory without its file (see CreateDirectoryWithState).
  Status EnsureDirectory(bool* created = nullptr);

  // The first start, all or nothing. If the directory exists, *created is
  // false and nothing is touched. Otherwise the directory is prepared as
  // <directory>.tmp with the state file in it, both fsynced, renamed into
  // place, and the parent fsynced; *created is true once that succeeded. On
  // failure the directory does not exist, so the next start is a first start
  // again (no ID was issued), and the temporary directory is removed if it
  // can be. A <directory>.tmp left by a first start that was killed midway is
  // removed first: nothing was ever issued from it. One holding anything but
  // the state file is refused (kIoError, ENOTEMPTY), never removed.
  Status CreateDirectoryWithState(const PersistedState& initial, bool* created);

  Status Load(PersistedState* state) override;
  Status Save(const PersistedState& state) override;

  const char* file_path() const { return file_path_; }
  const char* directory() const { return directory_; }

 private:
  bool path_too_long_;
  mode_t directory_mode_ = 0700;
  mode_t file_mode_ = 0600;
  char directory_[kMaxPath];
  char parent_[kMaxPath];
  char file_path_[kMaxPath];
  char temp_path_[kMaxPath];
  char new_directory_[kMaxPath];  // <directory>.tmp
  char new_file_path_[kMaxPath];  // <directory>.tmp/<file name>
  char new_temp_path_[kMaxPath];  // <directory>.tmp/<file name>.tmp (from a Save())
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_POSIX_STATE_STORE_H
