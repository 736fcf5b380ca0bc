#!/usr/bin/env bash
# `make bench`, the hearing part: our server under synthetic load against the same hearing built
# from stock GStreamer elements, measured one after the other on this machine, and the ratio.
# Also a sweep over the number of participants and hearings for docs/BENCHMARKS.md and its plot,
# and the most five-person hearings the machine holds (`--find-max`).
#
# usage: scripts/bench-hearing.sh [SECONDS] [SIZE] [FPS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
S=${1:-20}
SIZE=${2:-1280x720}
FPS=${3:-25}
BIN=${CARGO_TARGET_DIR:-/var/cache/courtroom/target}/release/courtroom
OUT=${BENCH_OUT:-target-bench}
mkdir -p "$OUT"
export BENCH_COURTROOM=$BIN

ours=$("$BIN" bench hearing --hearings 1 --participants 5 --seconds "$S" --size "$SIZE" --fps "$FPS" 2>/dev/null)
base=$(benches/baseline_gst.sh 5 "$S" "$SIZE" "$FPS")
echo "$ours" >"$OUT/hearing.json"
echo "$base" >"$OUT/baseline.json"
python3 - "$OUT/hearing.json" "$OUT/baseline.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1])); base = json.load(open(sys.argv[2]))
ratio = ours["cpu_cores_per_hearing"] / max(base["cpu_cores"], 1e-9)
print(f"adapter                 {ours['adapter']}")
print(f"output                  {ours['output']}, 5 participants, recording on")
print(f"cpu_cores_per_hearing   {ours['cpu_cores_per_hearing']:.3f}   (target <= 0.5)")
print(f"gstreamer 2D baseline   {base['cpu_cores']:.3f}")
print(f"ratio ours / baseline   {ratio:.2f}    (target <= 1.0)")
print(f"frames_late_ratio       {ours['frames_late_ratio']:.4f}  (target <= 0.01)")
l = ours["pipeline_latency_ms"]
print(f"pipeline_latency_ms     p50 {l['p50']:.1f}  p95 {l['p95']:.1f}  p99 {l['p99']:.1f}  (target p95 <= 50)")
t = ours["tick_to_encoded_ms"]
print(f"  of it, tick to encoded p50 {t['p50']:.1f}  p95 {t['p95']:.1f}  (drawing and encoding; the rest waits for the tick and the sound)")
f = ours["first_frame_ms"]
print(f"first_frame_ms          p50 {f['p50']:.0f}  p95 {f['p95']:.0f}  (target median <= 800)")
print(f"rss_mb_per_hearing      {ours['rss_mb_per_hearing']:.0f}    (target <= 150)")
print(f"clients_failed          {ours['clients_failed']}, received {ours['received_fps']:.1f} fps each")
PY

# Sweeps: CPU and RSS against participants (one hearing; 0 is an idle hearing) and against
# hearings (3 participants each, up to the first that does not hold), with the slope of each
# (least squares), for docs/BENCHMARKS.md and its plot.
: >"$OUT/sweep.tsv"
for p in 0 1 3 5 6; do
  r=$("$BIN" bench hearing --hearings 1 --participants "$p" --seconds "$((S / 2))" --size "$SIZE" --fps "$FPS" 2>/dev/null)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(sys.argv[2], r["cpu_cores_per_hearing"], r["pipeline_latency_ms"]["p95"], r["frames_late_ratio"], r["rss_mb_per_hearing"], sep="\t")' "$r" "$p" >>"$OUT/sweep.tsv"
done
echo "sweep (participants, cpu cores, latency p95 ms, late ratio, rss MB):"
cat "$OUT/sweep.tsv"
: >"$OUT/hearings.tsv"
for h in 1 2 3 4; do
  r=$("$BIN" bench hearing --hearings "$h" --participants 3 --seconds "$((S / 2))" --size "$SIZE" --fps "$FPS" 2>/dev/null)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); h=int(sys.argv[2]); print(h, r["cpu_cores_per_hearing"]*h, r["rss_mb_per_hearing"]*h, r["frames_late_ratio"], r["shed_ratio"], sep="\t")' "$r" "$h" >>"$OUT/hearings.tsv"
  # Past the first load the node does not hold, more hearings say nothing new.
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["frames_late_ratio"] <= 0.01 and r["shed_ratio"] <= 0.01 else 1)' "$r" || break
done
echo "hearings of 3 (hearings, cpu cores in all, rss MB in all, late ratio, shed ratio):"
cat "$OUT/hearings.tsv"
python3 - "$OUT/sweep.tsv" "$OUT/hearings.tsv" <<'PY'
import sys
def slope(rows, x, y):
    """Least-squares line of column y against column x: (slope, intercept)."""
    xs = [r[x] for r in rows]; ys = [r[y] for r in rows]
    mx = sum(xs) / len(xs); my = sum(ys) / len(ys)
    var = sum((a - mx) ** 2 for a in xs)
    k = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / var if var else 0.0
    return k, my - k * mx
load = lambda f: [[float(v) for v in l.split("\t")] for l in open(f) if l.strip()]
p, h = load(sys.argv[1]), load(sys.argv[2])
s, c = slope(p, 0, 1); print(f"cpu per participant     {s:.3f} cores (idle hearing {c:.3f})")
s, c = slope(p, 0, 4); print(f"rss per participant     {s:.1f} MB (idle hearing {c:.0f} MB)")
if len(h) > 1:
    s, c = slope(h, 0, 1); print(f"cpu per hearing of 3    {s:.3f} cores")
    s, c = slope(h, 0, 2); print(f"rss per hearing of 3    {s:.1f} MB (paid once per process: {c:.0f} MB)")
PY
# Hearings per machine: the most five-person hearings the node holds (at most 1 % of ticks late
# and 1 % of pictures shed). On a machine of four cores or more the clients run on a quarter of
# the cores, apart from the server; on two they share them, and the report says what they took.
"$BIN" bench hearing --find-max --hearings 4 --participants 5 --seconds "$((S / 2))" --size "$SIZE" --fps "$FPS" 2>/dev/null >"$OUT/find-max.json"
python3 - "$OUT/find-max.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"hearings of 5 held      {r['max_hearings']}    (target >= 2)")
for t in r["runs"]:
    h = t["hearings"]
    print(f"  {h}: {t['cpu_cores_per_hearing'] * h:.2f} cores in all, {100 * t['frames_late_ratio']:.1f} % late,"
          f" {100 * t['shed_ratio']:.1f} % shed, the clients took {t['clients_cpu_cores']:.2f} cores")
PY
if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set terminal pngcairo size 900,420 noenhanced
set output "docs/images/bench-sweep.png"
set multiplot layout 1,3 title "$SIZE@$FPS, recording on, $(date -u +%F)"
set key left top
set xlabel "participants"; set ylabel "CPU cores per hearing"; set grid
plot "$OUT/sweep.tsv" using 1:2 with linespoints title "one hearing"
set ylabel "RSS (MB)"
plot "$OUT/sweep.tsv" using 1:5 with linespoints title "one hearing"
set xlabel "hearings of 3"; set ylabel "CPU cores / RSS (GB)"; set xtics 1
plot "$OUT/hearings.tsv" using 1:2 with linespoints title "CPU cores", "$OUT/hearings.tsv" using 1:(\$3/1000) with linespoints title "RSS (GB)"
unset multiplot
GP
  echo "plot: docs/images/bench-sweep.png"
fi
