#!/usr/bin/env bash
# Builds the coverage-guided fuzz targets in fuzz/ (libFuzzer, on the stable toolchain) and runs
# each for SECONDS (default 60), one after the other. Fails if any target crashes, panics, hangs
# past -timeout or runs out of memory; the input that did it is kept in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh [SECONDS]        every target
#   FUZZ_TARGETS="sdp token" scripts/fuzz.sh 30
#   scripts/fuzz.sh --list           the targets' names
#
# Prints one line per target and, last, a JSON summary (also written to $FUZZ_SUMMARY if set):
#   {"seconds_per_target":N,"targets":[{"target":..,"runs":..,"exec_per_s":..,"cov":..,"ok":true},..]}
#
# How it builds without nightly: cargo-fuzz's sanitizers need nightly, but libFuzzer only needs
# SanitizerCoverage, which stable rustc has as plain -C flags. scripts/fuzz-rustc.sh (a
# RUSTC_WRAPPER) adds them to our two crates only, so the heavy dependencies are the very
# artifacts a `cargo build --release` of the server left in $CARGO_TARGET_DIR, and only
# `courtroom` (with assertions and overflow checks) and the targets are compiled.
#
# The corpus each run grows is kept in $CARGO_TARGET_DIR/fuzz-corpus/TARGET, so later runs start
# where earlier ones stopped; fuzz/corpus/TARGET holds the small seeds checked in.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
all_targets=(signalling sdp whip token config manifest timestamp)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${all_targets[@]}"
  exit 0
fi

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
  echo "fuzz: SECONDS must be a positive whole number, not '$seconds'" >&2
  exit 2
fi
read -r -a targets <<<"${FUZZ_TARGETS:-${all_targets[*]}}"
target_dir="${CARGO_TARGET_DIR:-/var/cache/courtroom/target}"
# Longest input tried (bytes); a hang is an input that takes longer than this many seconds.
max_len="${FUZZ_MAX_LEN:-16384}"
timeout_s="${FUZZ_TIMEOUT:-10}"

# The fuzz crate is its own workspace; its lock file is the server's plus the fuzz-only crates
# (pinned in fuzz/Cargo.toml), so every shared dependency is the same version as the server's.
cp "$root/Cargo.lock" "$root/fuzz/Cargo.lock"

echo "fuzz: building ${targets[*]} (stable, coverage on courtroom only) in $target_dir"
build_start=$(date +%s)
(
  cd "$root/fuzz"
  RUSTC_WRAPPER="$root/scripts/fuzz-rustc.sh" CARGO_TARGET_DIR="$target_dir" \
    cargo build --release $(printf -- '--bin %s ' "${targets[@]}")
)
echo "fuzz: built in $(($(date +%s) - build_start)) s"

failed=()
rows=()
for t in "${targets[@]}"; do
  corpus="$target_dir/fuzz-corpus/$t"
  artifacts="$root/fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  case "$t" in
    signalling | token | manifest) dict=(-dict="$root/fuzz/dict/json.dict") ;;
    config) dict=(-dict="$root/fuzz/dict/toml.dict") ;;
  esac
  log="$(mktemp)"
  status=0
  # New inputs go to the first folder only: the seeds in fuzz/corpus stay as checked in.
  "$target_dir/release/$t" "$corpus" "$root/fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb=2048 -max_len="$max_len" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  # libFuzzer's last status line: "#RUNS DONE cov: C ft: F corp: ... exec/s: E rss: ...".
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
  runs="$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -n 1)"
  eps="$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" | tail -n 1)"
  cov="$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<<"$done_line")"
  ok=true
  if [[ $status -ne 0 || -z "$done_line" ]]; then
    ok=false
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status); the end of its log:" >&2
    tail -n 40 "$log" >&2
    ls -1 "$artifacts" >&2 || true
  fi
  echo "fuzz: $t ${done_line:-no DONE line} (runs ${runs:-0}, ${eps:-0} exec/s)"
  rows+=("{\"target\":\"$t\",\"runs\":${runs:-0},\"exec_per_s\":${eps:-0},\"cov\":${cov:-0},\"ok\":$ok}")
  rm -f "$log"
done

summary="{\"seconds_per_target\":$seconds,\"targets\":[$(
  IFS=,
  echo "${rows[*]}"
)]}"
echo "$summary"
if [[ -n "${FUZZ_SUMMARY:-}" ]]; then
  echo "$summary" >"$FUZZ_SUMMARY"
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}; reproduce with" \
    "$target_dir/release/TARGET fuzz/artifacts/TARGET/crash-..." >&2
  exit 1
fi
echo "fuzz: every target (${#targets[@]}) ran without a crash"
