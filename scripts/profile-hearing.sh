#!/usr/bin/env bash
# `make bench`, the profile part: where one hearing's CPU and memory go, for
# docs/BENCHMARKS.md ("Where the rest goes, thread by thread" and "Where it goes").
#
# Starts `courtroom demo` (one hearing, recording on, 1280x720@25, the public broadcast off, as
# `courtroom bench hearing` runs it) and `courtroom loadgen` in a second process, and reads:
# - each thread's CPU time from /proc/PID/task/*/stat over SECONDS, grouped by stage;
# - with `perf` (root, or perf_event_paranoid <= 1), which library each thread runs, so that
#   lavapipe's threads (started from a tokio worker, whose name they inherit) are counted as
#   the compositor's, and who calls memmove/memcpy (the device's copies: the camera planes'
#   uploads, the picture's read-back, the room's copy);
# - the process's memory from /proc/PID/smaps, file-backed pages by library and anonymous;
# - from the ticker's trace, how much older the frame shown with a seat's sound is than the
#   newest frame of that seat: the part of the pipeline latency that is lip sync.
#
# usage: scripts/profile-hearing.sh [SECONDS] [PARTICIPANTS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
S=${1:-20}
P=${2:-5}
BIN=${CARGO_TARGET_DIR:-/var/cache/courtroom/target}/release/courtroom
OUT=${BENCH_OUT:-target-bench}/profile
mkdir -p "$OUT"
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SP=
LP=
cleanup() {
  [ -n "$LP" ] && kill "$LP" 2>/dev/null || true
  [ -n "$SP" ] && kill "$SP" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

# The ticker's trace says, per seat and tick, how old the sound, the frame shown with it and
# the newest frame are: how long a picture waits for its sound (lip sync). About 125 short lines
# a second for five seats.
RUST_LOG=${RUST_LOG:-info,courtroom::hearing::ticker=trace} "$BIN" demo --listen "127.0.0.1:$PORT" --data "$DATA" \
  --set video.width=1280 --set video.height=720 --set video.fps=25 \
  --set broadcast.demo_on_air=false >"$OUT/server.log" 2>&1 &
SP=$!
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "the server did not start" >&2; exit 1; }
PERF_S=8
"$BIN" loadgen --url "http://127.0.0.1:$PORT" --invitations "$DATA/demo-invitations.json" \
  --participants "$P" --seconds "$((S + PERF_S + 60))" >"$OUT/loadgen.log" 2>&1 &
LP=$!
sleep 8

threads() {
  # tid, utime + stime (ticks), name; the name is in parentheses and may hold spaces.
  python3 - "$SP" <<'PY'
import os, sys
task = f"/proc/{sys.argv[1]}/task"
for tid in os.listdir(task):
    try:
        raw = open(f"{task}/{tid}/stat").read()
    except OSError:
        continue
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    f = raw[raw.rindex(")") + 2 :].split()
    print(tid, int(f[11]) + int(f[12]), name, sep="\t")
PY
}
threads >"$OUT/threads-before.tsv"
T0=$(date +%s.%N)
sleep "$S"
threads >"$OUT/threads-after.tsv"
T1=$(date +%s.%N)
cat /proc/"$SP"/smaps >"$OUT/smaps.txt"
grep -E '^(VmRSS|Threads)' /proc/"$SP"/status >"$OUT/status.txt"

PERF=no
if command -v perf >/dev/null && { [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 1 ]; }; then
  if perf record -q -F 199 --call-graph dwarf,16384 -p "$SP" -o "$OUT/perf.data" -- sleep "$PERF_S" 2>"$OUT/perf.err"; then
    perf script -i "$OUT/perf.data" -F tid,ip,sym,dso 2>/dev/null >"$OUT/perf.txt" && PERF=yes
  fi
fi

python3 - "$OUT" "$T0" "$T1" "$(getconf CLK_TCK)" "$PERF" <<'PY'
import collections, json, re, sys
out, t0, t1, hz, perf = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "yes"
wall = t1 - t0

def read(name):
    rows = {}
    for line in open(f"{out}/{name}"):
        tid, ticks, comm = line.rstrip("\n").split("\t")
        rows[tid] = (int(ticks), comm)
    return rows

before, after = read("threads-before.tsv"), read("threads-after.tsv")
cores = {tid: (after[tid][0] - before.get(tid, (0, ""))[0]) / hz / wall for tid in after}
names = {tid: after[tid][1] for tid in after}

# The share of each thread's samples in lavapipe (perf), to name lavapipe's threads.
lavapipe_share = {}
callers = collections.Counter()
copies = 0
samples = 0
if perf:
    by_thread = collections.defaultdict(collections.Counter)
    for block in open(f"{out}/perf.txt").read().split("\n\n"):
        lines = [l.strip() for l in block.strip().split("\n") if l.strip()]
        if len(lines) < 2:
            continue
        samples += 1
        tid = lines[0].split()[0]
        frames = lines[1:]
        # lavapipe: its library or LLVM in the stack, or JIT-compiled code (no library) on top.
        lavapipe = frames[0].endswith("([unknown])") or any(
            re.search(r"libvulkan_lvp|libLLVM", f) for f in frames)
        by_thread[tid]["lavapipe" if lavapipe else "other"] += 1
        if re.search(r"mem(move|cpy)", frames[0]):
            copies += 1
            # The first frame that says what is copied: lavapipe's command, or our code.
            named = next((f for f in frames[1:] if re.search(r"lvp_|vk_|libvulkan_lvp|wgpu|courtroom|gst_|vpx|x264", f)), "?")
            named = re.sub(r"^[0-9a-f]+\s+", "", named)
            named = re.sub(r"\+0x[0-9a-f]+", "", named)
            callers[named[:100]] += 1
    for tid, c in by_thread.items():
        lavapipe_share[tid] = c["lavapipe"] / max(sum(c.values()), 1)

# Threads by the start of their name; lavapipe's, named after the tokio worker that started
# them, are told apart by their samples.
STAGES = [
    ("tick-", "compositor: our tick (uploads, coverage rows, smoothing, site packing)"),
    ("key-", "auto key fitting"),
    ("framing-", "face framing"),
    ("appsrc0", "the composite's encoders (x264, VP8 when asked for)"),
    ("jitter", "the participants' decoders (VP8, Opus) and depayloaders"),
    ("tokio", "the WebRTC stack and the server (SRTP, RTP, RTCP, HTTP)"),
]

def stage(tid):
    n = names[tid]
    if n.startswith("llvmpipe-") or n.startswith("tokio") and lavapipe_share.get(tid, 0) > 0.5:
        return "compositor: lavapipe (rasterising, JIT-compiled shaders, copies)"
    return next((label for prefix, label in STAGES if n.startswith(prefix)),
                "the recording (AAC, muxers, originals) and the rest")

stages = collections.defaultdict(float)
for tid, c in cores.items():
    stages[stage(tid)] += c
total = sum(cores.values())

def group(path):
    p = path.rsplit("/", 1)[-1]
    if re.search(r"LLVM|lvp|vulkan|libdrm|libz3|libxcb|libX11|libwayland", p):
        return "lavapipe (LLVM's JIT, the Vulkan ICD)"
    if p == "courtroom":
        return "the courtroom binary"
    if re.search(r"libav|libsw|x264|vpx|opus|fdk|faac|libmp3|libdav1d|libaom|libopenh264|libva", p):
        return "codec libraries (FFmpeg, x264, vpx, Opus)"
    if "opencv" in p:
        return "OpenCV (face framing)"
    if "gst" in p:
        return "GStreamer and its plugins"
    return "other shared libraries"

rss = collections.defaultdict(int)
anon = 0
current = None
for line in open(f"{out}/smaps.txt"):
    head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$", line)
    if head:
        inode, path = int(head.group(1)), head.group(2).strip()
        current = group(path) if inode != 0 and path.startswith("/") else None
        continue
    m = re.match(r"^Rss:\s+(\d+) kB", line)
    if m:
        if current:
            rss[current] += int(m.group(1))
        else:
            anon += int(m.group(1))
status = dict(l.split(":", 1) for l in open(f"{out}/status.txt"))

# Lip sync: the shown frame's age minus the newest frame's, per seat and tick.
waits, sounds, decoded = [], [], []
for line in open(f"{out}/server.log", errors="replace"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    if " sync" not in line or "shown_age_ms" not in line:
        continue
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    try:
        shown, newest = int(f["shown_age_ms"].strip("Some()")), int(f["newest_age_ms"].strip("Some()"))
    except (KeyError, ValueError):
        continue
    # A seat with no sound playing shows its newest frame: it does not wait for a sound.
    if "sound_age_ms" not in f:
        continue
    waits.append(shown - newest)
    sounds.append(int(f["sound_age_ms"].strip("Some()")))
    if "shown_decoded_ms" in f:
        decoded.append(int(f["shown_decoded_ms"].strip("Some()")))
def pct(xs, q):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * q)] if xs else None
total_rss = int(status["VmRSS"].split()[0])

print(f"one hearing, {len(cores)} threads, {wall:.1f} s: the server took {total:.3f} cores")
for name, c in sorted(stages.items(), key=lambda kv: -kv[1]):
    print(f"  {c:6.3f} cores  {100 * c / max(total, 1e-9):4.0f} %  {name}")
if perf:
    print(f"memmove/memcpy: {copies} of {samples} samples ({100 * copies / max(samples, 1):.1f} %), by what they copy for:")
    for k, v in callers.most_common(10):
        print(f"  {100 * v / max(copies, 1):5.1f} %  {k}")
else:
    print("perf: not available or not permitted; lavapipe's threads named tokio-rt-worker count as the server's")
print(f"RSS {total_rss / 1024:.0f} MB: anonymous {anon / 1024:.0f} MB, file-backed {sum(rss.values()) / 1024:.0f} MB")
for k, v in sorted(rss.items(), key=lambda kv: -kv[1]):
    print(f"  {v / 1024:6.1f} MB  {k}")
if waits:
    print(f"lip sync: the frame shown is older than the seat's newest by p50 {pct(waits, 0.5)} / p95 {pct(waits, 0.95)} ms"
          f" ({len(waits)} seat ticks); the sound played is p50 {pct(sounds, 0.5)} ms old")
    print(f"  the frame shown was decoded p50 {pct(decoded, 0.5)} / p95 {pct(decoded, 0.95)} ms before its tick began"
          " (the rest of the pipeline latency is the tick's drawing and the encoder)")
json.dump({
    "sync_wait_ms": {"p50": pct(waits, 0.5), "p95": pct(waits, 0.95), "samples": len(waits)},
    "sound_age_ms": {"p50": pct(sounds, 0.5), "p95": pct(sounds, 0.95)},
    "shown_decoded_ms": {"p50": pct(decoded, 0.5), "p95": pct(decoded, 0.95)},
    "seconds": wall,
    "server_cores": total,
    "stages_cores": stages,
    "memmove_share_of_samples": copies / max(samples, 1) if perf else None,
    "memmove_callers": dict(callers.most_common(10)),
    "rss_mb": total_rss / 1024,
    "anonymous_mb": anon / 1024,
    "file_backed_mb": {k: v / 1024 for k, v in rss.items()},
    "threads": len(cores),
}, open(f"{out}/profile.json", "w"), indent=1)
PY
