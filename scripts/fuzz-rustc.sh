#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build (scripts/fuzz.sh): adds libFuzzer's coverage instrumentation
# (SanitizerCoverage, all stable `-C` flags) and `--cfg fuzzing` to our own crates only, the
# `courtroom` library and the `courtroom-fuzz` targets. Dependencies (wgpu, GStreamer, webrtc-rs,
# ...) are compiled exactly as in a plain release build, so they are shared with it and need no
# rebuild; their code is not coverage-guided, only ours is.
rustc="$1"
shift
case "${CARGO_PKG_NAME:-}:${CARGO_CRATE_NAME:-}" in
  *:build_script_*) ;;
  courtroom:* | courtroom-fuzz:*)
    exec "$rustc" "$@" \
      --cfg fuzzing \
      -Cpasses=sancov-module \
      -Cllvm-args=-sanitizer-coverage-level=4 \
      -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
      -Cllvm-args=-sanitizer-coverage-pc-table \
      -Cllvm-args=-sanitizer-coverage-trace-compares \
      -Cllvm-args=-sanitizer-coverage-stack-depth
    ;;
esac
exec "$rustc" "$@"
