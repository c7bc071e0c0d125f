# Sourced by scripts/test.sh and scripts/check.sh: runs the phases of a test
# run, in the foreground or side by side, and reports each one's time at the
# end, so that every change to the suite can be judged by its figures.
#
#   phases_init DIR          logs of background phases go to DIR; the clock and
#                            the machine's CPU counters start now
#   phase NAME CMD...        runs CMD in the foreground, timed
#   phase_bg NAME CMD...     starts CMD in the background, its output in
#                            DIR/NAME.log
#   phase_wait NAME          waits for it, prints its log, returns its status
#   phases_report [TAPLOG]   the table of phases (start, end, seconds, result),
#                            the machine's CPU use over the run, and the ten
#                            slowest TAP files found in TAPLOG (prove --timer)
#
# A phase's start and end are seconds since phases_init, so phases that ran
# side by side show as overlapping rows.

phases_init() {
  PHASES_DIR=$1
  rm -rf "$PHASES_DIR"
  mkdir -p "$PHASES_DIR"
  PHASES_T0=${EPOCHREALTIME//[!0-9]/}
  PHASES_CPU0=$(head -n 1 /proc/stat)
  PHASES_ROWS=()
  declare -gA PHASES_PID=() PHASES_START=()
}

# Tenths of a second since phases_init (bash's own clock: no bc on a bare Debian).
_phases_now() { echo $(((${EPOCHREALTIME//[!0-9]/} - PHASES_T0) / 100000)); }
_phases_tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }

_phases_row() {
  local name=$1 start=$2 end=$3 rc=$4
  PHASES_ROWS+=("$(printf '| %-34s | %7s | %7s | %7s | %-6s |' "$name" "$(_phases_tenths "$start")" \
    "$(_phases_tenths "$end")" "$(_phases_tenths $((end - start)))" "$([[ $rc -eq 0 ]] && echo ok || echo FAIL)")")
}

phase() {
  local name=$1 start rc=0
  shift
  printf '\n=== %s\n' "$name"
  start=$(_phases_now)
  "$@" || rc=$?
  _phases_row "$name" "$start" "$(_phases_now)" "$rc"
  return "$rc"
}

phase_bg() {
  local name=$1
  shift
  printf '\n=== %s (started in the background; its output follows when it ends)\n' "$name"
  PHASES_START[$name]=$(_phases_now)
  # The phase writes down when it ended: it may be waited for much later.
  (
    rc=0
    "$@" || rc=$?
    echo "$(_phases_now) $rc" >"$PHASES_DIR/$name.end"
    exit "$rc"
  ) >"$PHASES_DIR/$name.log" 2>&1 &
  PHASES_PID[$name]=$!
}

phase_wait() {
  local name=$1 rc=0 end
  wait "${PHASES_PID[$name]}" || rc=$?
  unset "PHASES_PID[$name]"
  end=$(_phases_now)
  [[ -f $PHASES_DIR/$name.end ]] && read -r end _ <"$PHASES_DIR/$name.end"
  _phases_row "$name" "${PHASES_START[$name]}" "$end" "$rc"
  printf '\n=== %s: %s\n' "$name" "$([[ $rc -eq 0 ]] && echo done || echo FAILED)"
  cat "$PHASES_DIR/$name.log"
  return "$rc"
}

# Kills the background phases still running (on a failure elsewhere).
phases_stop() {
  local name pid
  for name in "${!PHASES_PID[@]}"; do
    pid=${PHASES_PID[$name]}
    kill -0 "$pid" 2>/dev/null && pkill -TERM -P "$pid" 2>/dev/null && kill "$pid" 2>/dev/null
  done
  return 0
}

# user+nice+system+irq+softirq+steal over all fields but guest, from two
# /proc/stat "cpu" lines.
_phases_busy_percent() {
  local -a a b
  read -r -a a <<<"$1"
  read -r -a b <<<"$2"
  local i total=0 idle=0 d
  for i in 1 2 3 4 5 6 7 8; do
    d=$((b[i] - a[i]))
    total=$((total + d))
    [[ $i -eq 4 || $i -eq 5 ]] && idle=$((idle + d))
  done
  ((total > 0)) || { echo 0; return; }
  echo $(((total - idle) * 100 / total))
}

phases_report() {
  local taplog=${1:-} wall
  wall=$(_phases_now)
  printf '\n=== times (seconds since the start; rows that overlap ran side by side)\n'
  printf '| %-34s | %7s | %7s | %7s | %-6s |\n' phase start end seconds result
  printf '|%s|---------|---------|---------|--------|\n' "------------------------------------"
  printf '%s\n' "${PHASES_ROWS[@]}"
  local secs
  secs=$((wall / 10))
  printf 'wall clock %d s (%d min %02d s) on %s cores; the machine was busy %s%% of that time\n' \
    "$secs" $((secs / 60)) $((secs % 60)) "$(nproc)" \
    "$(_phases_busy_percent "$PHASES_CPU0" "$(head -n 1 /proc/stat)")"
  if [[ -n $taplog && -f $taplog ]]; then
    printf '\nthe ten slowest TAP files (prove --timer):\n'
    grep -aoE '[^ ]+\.pl \.+ ok +[0-9]+ ms' "$taplog" |
      awk '{ printf "%8.1f s  %s\n", $(NF - 1) / 1000, $1 }' | sort -rn | head -n 10 || true
  fi
}
