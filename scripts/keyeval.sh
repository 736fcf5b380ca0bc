#!/usr/bin/env bash
# Scores `courtroom key` on the keyeval public set (seeds 1-12) beside the reference keyers
# (OBS chroma key v2, GStreamer alpha, naive HSV) and prints the harness table; then the same
# on our harsher profile (seeds 101-112, scripts/keyeval_harsh.py), a guess at the held-out
# acceptance set. Generates the sets into $KEYEVAL_DIR (default /tmp/keyeval) when missing.
# Needs: python3 with numpy scipy scikit-image imageio; ffmpeg (libvpx); gst-launch-1.0.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
harness="${KEYEVAL_HARNESS:-$root/../shared/keyeval}"
work="${KEYEVAL_DIR:-/tmp/keyeval}"
target="${CARGO_TARGET_DIR:-$root/target}"
bin="${KEYEVAL_COURTROOM:-$target/release/courtroom}"
cases="$work/public"
results="$work/results"

if [ ! -f "$harness/score.py" ]; then
    echo "keyeval: harness not found at $harness (set KEYEVAL_HARNESS)" >&2
    exit 2
fi
if [ ! -x "$bin" ]; then
    (cd "$root" && cargo build --release --bin courtroom)
fi
if [ "$(ls -d "$cases"/s*/ 2>/dev/null | wc -l)" -lt 12 ]; then
    echo "keyeval: generating the public set into $cases"
    python3 "$harness/gen.py" --out "$cases" --seed 1 --count 12
fi
mkdir -p "$results"
score() {
    python3 "$harness/score.py" --cases "$cases" --keyer "$2" --name "$1" \
        --json "$results/$1_public.json" >/dev/null
}
score courtroom "$bin key {in} {out} 2>/dev/null"
# The references are scored once and kept.
[ -f "$results/obs_public.json" ] || score obs "python3 $harness/ref_obs.py {in} {out}"
[ -f "$results/gst_alpha_public.json" ] || score gst_alpha "sh $harness/ref_gst_alpha.sh {in} {out}"
[ -f "$results/naive_public.json" ] || score naive "python3 $harness/ref_naive.py {in} {out}"
python3 "$harness/summary.py" "$results"/{courtroom,obs,gst_alpha,naive}_public.json

# The harsher profile: darker, duller, more spill, finer hair, lower bitrate.
harsh="$work/harsh"
if [ "$(ls -d "$harsh"/s*/ 2>/dev/null | wc -l)" -lt 12 ]; then
    echo "keyeval: generating the harsh set into $harsh"
    KEYEVAL_HARNESS="$harness" python3 "$root/scripts/keyeval_harsh.py" \
        --out "$harsh" --seed 101 --count 12 --profile harsh
fi
score_harsh() {
    python3 "$harness/score.py" --cases "$harsh" --keyer "$2" --name "$1" \
        --json "$results/$1_harsh.json" >/dev/null
}
score_harsh courtroom "$bin key {in} {out} 2>/dev/null"
[ -f "$results/obs_harsh.json" ] || score_harsh obs "python3 $harness/ref_obs.py {in} {out}"
[ -f "$results/naive_harsh.json" ] || score_harsh naive "python3 $harness/ref_naive.py {in} {out}"
python3 "$harness/summary.py" "$results"/{courtroom,obs,naive}_harsh.json
