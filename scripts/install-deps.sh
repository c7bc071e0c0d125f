#!/usr/bin/env bash
# Installs the Debian packages a step needs, if any are missing.
#   scripts/install-deps.sh build|test|bench
# As root it runs apt-get; otherwise it prints the command to run.
set -euo pipefail

build=(make g++ postgresql-15 postgresql-server-dev-15)
test=("${build[@]}" cmake googletest libgtest-dev libipc-run-perl libfaketime clang-format clang-tidy util-linux
  etcd-server patroni clang libclang-rt-14-dev)
bench=("${build[@]}" cmake libbenchmark-dev gnuplot-nox)

case "${1:-build}" in
  build) wanted=("${build[@]}") ;;
  test) wanted=("${test[@]}") ;;
  bench) wanted=("${bench[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "snowflake: installing missing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
