/*
 * stall_fsync.c: an LD_PRELOAD shim for the TAP tests only (never built into
 * the extension). While the file named by SNOWFLAKE_STALL_FILE exists, an
 * fsync() of a file or directory under a path containing "pg_snowflake"
 * blocks, as on a disk that stopped answering; the server's other fsyncs are
 * untouched. tests/t/014_stalled_disk.pl compiles it with cc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int stalls_here(int fd) {
  const char *flag = getenv("SNOWFLAKE_STALL_FILE");
  char link[64], path[PATH_MAX];
  ssize_t n;
  if (flag == NULL) return 0;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = '\0';
  return strstr(path, "pg_snowflake") != NULL;
}

int fsync(int fd) {
  static int (*real_fsync)(int) = NULL;
  const char *flag = getenv("SNOWFLAKE_STALL_FILE");
  if (real_fsync == NULL) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (stalls_here(fd))
    while (access(flag, F_OK) == 0) usleep(10000);
  return real_fsync(fd);
}
