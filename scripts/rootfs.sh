# Sourced by test-all-versions.sh and deb.sh: Debian root file systems with
# another PostgreSQL, made with mmdebstrap from Debian's registry, cached
# outside the clone, and used through a throwaway overlay.
#
#   rootfs_ensure [--variant VARIANT] [--satisfy RELATIONS] NAME SUITE PKG...
#       makes $SNOWFLAKE_ROOTFS_DIR/NAME (Debian SUITE with PKG... installed)
#       unless a copy made from the same suite and packages is cached there.
#       Sets ROOTFS (its path) and ROOTFS_SECONDS (time spent, 0 if cached).
#       --variant: mmdebstrap's package set to start from (default apt:
#       Essential and apt; buildd adds build-essential, as Debian's builders
#       have). --satisfy: a Depends-style list ("debhelper-compat (= 13),
#       pkg-config, ..."), installed with `apt-get satisfy`, which honours
#       versions and alternatives (make deb's build roots: a source
#       package's Build-Depends).
#   rootfs_run ROOTFS [--bind HOSTDIR DIR]... [--ro HOSTDIR DIR]... -- CMD...
#       runs CMD as root, chrooted into an overlay of ROOTFS. The cached tree
#       is never written: whatever CMD installs or leaves goes to the
#       overlay's upper layer, which is deleted afterwards.
#
# rootfs_run uses new mount, PID, IPC and network namespaces (unshare):
# every mount (the overlay, /proc, /dev, a fresh /dev/shm and /tmp) exists
# only in there, so nothing is left mounted on the host, whatever happens;
# when CMD ends, the kernel ends every process it left (servers included);
# and servers listen on a loopback of their own, so ports never clash with
# other tests running on the machine.
#
# SNOWFLAKE_ROOTFS_DIR   cache directory (default /var/cache/snowflake)
# SNOWFLAKE_MIRROR       Debian mirror (default http://deb.debian.org/debian)
# SNOWFLAKE_SECURITY_MIRROR  its security archive (default http://deb.debian.org/debian-security)
# SNOWFLAKE_ROOTFS_REFRESH=1  rebuild even when a cached copy exists

SNOWFLAKE_ROOTFS_DIR=${SNOWFLAKE_ROOTFS_DIR:-/var/cache/snowflake}
SNOWFLAKE_MIRROR=${SNOWFLAKE_MIRROR:-http://deb.debian.org/debian}
SNOWFLAKE_SECURITY_MIRROR=${SNOWFLAKE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# The apt sources of a suite as a Debian machine has them: a stable release
# with its updates and security archive (PostgreSQL's minor releases reach
# Debian 12 and 13 there), unstable alone.
rootfs_sources() {
  local suite=$1
  echo "deb $SNOWFLAKE_MIRROR $suite main"
  if [[ $suite != sid && $suite != unstable ]]; then
    echo "deb $SNOWFLAKE_MIRROR $suite-updates main"
    echo "deb $SNOWFLAKE_SECURITY_MIRROR $suite-security main"
  fi
}

rootfs_ensure() {
  local variant=apt satisfy=
  while [[ $# -gt 0 ]]; do
    case $1 in
      --variant) variant=$2; shift 2 ;;
      --satisfy) satisfy=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local name=$1 suite=$2
  shift 2
  local dir="$SNOWFLAKE_ROOTFS_DIR/$name"
  local stamp="$dir.stamp" want lock start sources=() hooks=()
  mapfile -t sources < <(rootfs_sources "$suite")
  # iproute2: rootfs_run brings up the namespace's loopback with it.
  want="$suite $(printf '%s\n' iproute2 "$@" | sort -u | tr '\n' ' ')"
  want="$want| $(printf '%s; ' "${sources[@]}")"
  # (Only when given, so that the stamps of earlier file systems still match.)
  [[ $variant == apt ]] || want="$want| variant $variant"
  if [[ -n $satisfy ]]; then
    want="$want| satisfy $satisfy"
    # In the new root, with the package lists mmdebstrap has just fetched.
    hooks=(--customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get satisfy -y --no-install-recommends '$satisfy'")
  fi
  mkdir -p "$SNOWFLAKE_ROOTFS_DIR"
  ROOTFS=$dir
  ROOTFS_SECONDS=0
  # One builder at a time per file system; others wait and then use it.
  exec {lock}>"$dir.lock"
  flock "$lock"
  if [[ ${SNOWFLAKE_ROOTFS_REFRESH:-0} != 1 && -d $dir && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
    exec {lock}>&-
    return 0
  fi
  start=$(date +%s)
  # --one-file-system: should anything still be mounted in there (say, by an
  # mmdebstrap that was killed), it is not descended into.
  rm -rf --one-file-system "$dir" "$dir.new" "$stamp"
  echo "snowflake: building root file system $dir (Debian $suite) ..." >&2
  # The unstable suite's Release file is often past its Valid-Until on the
  # mirror; the signature is still checked.
  if ! mmdebstrap --variant="$variant" --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$(printf '%s\n' iproute2 "$@" | sort -u | paste -sd,)" "${hooks[@]}" \
    "$suite" "$dir.new" "${sources[@]}" >"$dir.log" 2>&1; then
    tail -n 30 "$dir.log" >&2
    echo "snowflake: mmdebstrap failed for $suite; full log: $dir.log" >&2
    rm -rf --one-file-system "$dir.new"
    exec {lock}>&-
    return 1
  fi
  mv "$dir.new" "$dir"
  echo "$want" >"$stamp"
  ROOTFS_SECONDS=$(($(date +%s) - start))
  exec {lock}>&-
}

rootfs_run() {
  local root=$1
  shift
  local mounts=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    case $1 in
      --bind | --ro) mounts+=("$1" "$2" "$3"); shift 3 ;;
      *) echo "rootfs_run: unknown option $1" >&2; return 2 ;;
    esac
  done
  shift
  local work rc=0
  work=$(mktemp -d /var/tmp/snowflake-overlay.XXXXXX)
  unshare --mount --propagation private --pid --fork --ipc --net -- \
    bash -euc '
      root=$1 work=$2 nmounts=$3
      shift 3
      mkdir -p "$work/upper" "$work/work" "$work/merged"
      m=$work/merged
      mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$m"
      mount -t proc proc "$m/proc"
      mount --rbind /dev "$m/dev"
      mount -t tmpfs -o mode=1777 shm "$m/dev/shm"
      mount -t tmpfs -o mode=1777 tmp "$m/tmp"
      while ((nmounts > 0)); do
        mkdir -p "$m/$3"
        mount --bind "$2" "$m/$3"
        [[ $1 == --ro ]] && mount -o remount,bind,ro "$m/$3"
        shift 3
        nmounts=$((nmounts - 1))
      done
      chroot "$m" ip link set lo up
      # Not exec: this shell stays PID 1 of the namespace and reaps the
      # servers that pg_ctl leaves behind (TAP tests wait for them to go).
      chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
    ' rootfs_run "$root" "$work" $((${#mounts[@]} / 3)) "${mounts[@]}" "$@" || rc=$?
  rm -rf --one-file-system "$work"
  return "$rc"
}
