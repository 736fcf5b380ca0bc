#!/usr/bin/env bash
# Installs (once) a third-party C2PA verifier for the tests: the C2PA project's own SDK for
# Python, `c2pa-python` (pinned, a prebuilt wheel from PyPI), in a venv of its own.
#
#   scripts/c2pa-verifier.sh install   # installs it into $COURTROOM_TOOLS (idempotent)
#   scripts/c2pa-verifier.sh python    # prints the venv's python, which can `import c2pa`
set -euo pipefail

C2PA_PYTHON_VERSION=0.38.1
TOOLS="${COURTROOM_TOOLS:-/var/cache/courtroom/tools}"
VENV="$TOOLS/c2pa-python-$C2PA_PYTHON_VERSION"
PY="$VENV/bin/python"

install() {
  if [[ -x "$PY" ]] && "$PY" -c "import c2pa" 2>/dev/null; then
    return 0
  fi
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "c2pa-python==$C2PA_PYTHON_VERSION"
  "$PY" -c "import c2pa; print('c2pa-verifier: installed c2pa-python $C2PA_PYTHON_VERSION (SDK', c2pa.sdk_version(), ')')"
}

case "${1:-}" in
  install) install ;;
  python) echo "$PY" ;;
  *) echo "usage: $0 install | python" >&2; exit 2 ;;
esac
