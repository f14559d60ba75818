#!/usr/bin/env bash
# Installs the Debian packages connpool needs, only those that are missing.
# Idempotent: a second run does nothing but check. Every make target calls it.
# Why each package is needed is listed in the README ("Dependencies").
set -euo pipefail

packages=(
  # build tools
  cmake ninja-build ccache g++ pkg-config make clang-format clang-tidy
  # sanitizer / fuzzer runtime for clang builds
  clang libclang-rt-14-dev
  # libraries
  libboost1.81-dev libboost-json1.81-dev   # Asio (C++20 coroutines), Beast, JSON
  libhiredis-dev                           # RESP reader and command formatter
  libssl-dev                               # TLS for Redis (asio::ssl)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler  # Firestore over gRPC
  prometheus-cpp-dev                       # metrics registry + text serializer
  nlohmann-json3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real services and tools the tests use
  redis-server redis-tools openssl curl procps
  prometheus                               # promtool checks /metrics; scrape test
  nodejs npm                               # npm pack fetches the Firestore .proto files
  chromium fonts-dejavu-core               # headless browser for the admin page test
  default-jre-headless                     # the Firestore emulator (gcloud SDK) runs on Java
  dpkg-dev                                 # make package: dpkg-shlibdeps for the CLI's Depends
  systemd                                  # systemd-analyze verifies deploy/systemd/connpool.service
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # A package may be absent from the image but its command present (e.g. node from elsewhere).
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
      default-jre-headless) command -v java >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Update the package lists once when they are absent or more than a day old.
if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1) ]]; then
  apt-get update -qq
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/connpool-apt.log 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/connpool-apt.log 2>&1 || {
    tail -n 30 /tmp/connpool-apt.log >&2
    exit 1
  }
fi
# Debian starts redis-server as a system service on install; the tests start their own.
if [[ " ${missing[*]} " == *" redis-server "* ]]; then
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
  service redis-server stop >/dev/null 2>&1 || true
fi
echo "install-deps: done"
