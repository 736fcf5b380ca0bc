#!/usr/bin/env bash
# Installs (once) the Content Authenticity Initiative's `c2patool`, a third-party C2PA verifier,
# pinned, for the tests that check our recordings' content credentials with it.
#
#   scripts/c2patool.sh install    # builds it into $COURTROOM_TOOLS (idempotent; a few minutes)
#   scripts/c2patool.sh path       # prints where the binary is
#
# Version: 0.27.22, the last release on c2pa 0.90 (0.28 needs Rust 1.96). It is built with
# `cargo install --locked` (its own lock file) and without its `networking` feature: nothing
# it checks for us needs the network.
set -euo pipefail

C2PATOOL_VERSION=0.27.22
TOOLS="${COURTROOM_TOOLS:-/var/cache/courtroom/tools}"
ROOT="$TOOLS/c2patool-$C2PATOOL_VERSION"
BIN="$ROOT/bin/c2patool"

install() {
  if [[ -x "$BIN" ]]; then
    return 0
  fi
  mkdir -p "$TOOLS"
  local started=$SECONDS
  # Its own target folder, removed after, so no project's target is touched.
  local target
  target="$(mktemp -d "$TOOLS/.c2patool-build.XXXXXX")"
  CARGO_TARGET_DIR="$target" cargo install c2patool --version "$C2PATOOL_VERSION" --locked \
    --no-default-features --root "$ROOT" --quiet
  rm -rf "$target"
  "$BIN" --version >/dev/null
  echo "c2patool: installed $C2PATOOL_VERSION at $BIN in $((SECONDS - started)) s"
}

case "${1:-}" in
  install)
    install
    ;;
  path)
    echo "$BIN"
    ;;
  *)
    echo "usage: $0 install | path" >&2
    exit 2
    ;;
esac
