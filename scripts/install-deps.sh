#!/usr/bin/env bash
# install-deps.sh [--test] [--bench]: make sure the Debian 12 packages rdbkeep
# needs are installed. As root it installs what is missing; otherwise it names
# what is missing and exits 1. --test adds what the test suite needs (test
# servers, cmocka, clang for the fuzzers), --bench what the benchmarks need.
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config libcurl4-openssl-dev libssl-dev libisal-dev zlib1g-dev
            libjansson-dev libmicrohttpd-dev libsqlite3-dev libhiredis-dev
            redis-server redis-tools ca-certificates)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev nginx-light python3-pyftpdlib openssl curl
           time procps iproute2)
# The daemon's integration tests read JSON with jq and check the catalog with sqlite3.
test_pkgs+=(jq sqlite3)
# The RDB integration tests compare outputs and drive redis-server with Python (standard library only).
test_pkgs+=(python3)
# The store tests' FTPS server is pyftpdlib's TLS handler, which needs pyOpenSSL.
test_pkgs+=(python3-openssl)
bench_pkgs=(time wrk hyperfine python3)

want=("${build_pkgs[@]}")
for arg in "$@"; do
    case "$arg" in
    --test) want+=("${test_pkgs[@]}") ;;
    --bench) want+=("${bench_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
# The test servers for S3 and Azure are npm packages: they need Node.js.
if [[ " $* " == *" --test "* ]] && ! command -v npm >/dev/null; then
    want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "rdbkeep needs these Debian packages, which are not installed:" >&2
    echo "  ${missing[*]}" >&2
    echo "Install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once if the install cannot find something.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
