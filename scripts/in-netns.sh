#!/usr/bin/env bash
# Runs a command inside a network namespace made for it, and removes the namespace after.
#
# The namespace has loopback and one veth interface with a private address (10.203.0.1/24)
# whose other end stays in the namespace too: nothing inside can reach any other network. The
# browser tests run here because Firefox ESR gathers no loopback ICE candidates, so its media
# must flow over a non-loopback address; this one exists only inside the test's namespace.
#
# Without the rights to make a namespace (not root, or no `ip netns`), the command runs as it
# is, and says so.
set -euo pipefail

if [[ "$(id -u)" != 0 ]] || ! command -v ip >/dev/null 2>&1; then
  echo "in-netns: cannot make a network namespace here (needs root and iproute2); running without one" >&2
  exec "$@"
fi

ns="courtroom-test-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
if ! ip netns add "$ns" 2>/dev/null; then
  echo "in-netns: ip netns add failed; running without a namespace" >&2
  trap - EXIT
  exec "$@"
fi
ip -n "$ns" link set lo up
ip -n "$ns" link add media0 type veth peer name media1
ip -n "$ns" addr add 10.203.0.1/24 dev media0
ip -n "$ns" link set media0 up
ip -n "$ns" link set media1 up
# A default route into the veth: Firefox treats a machine with no route out as offline and
# gathers no candidates. A packet sent "out" reaches media1, which forwards nothing.
ip -n "$ns" route add default via 10.203.0.2 dev media0
ip netns exec "$ns" "$@"
