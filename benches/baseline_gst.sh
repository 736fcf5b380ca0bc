#!/usr/bin/env bash
# The pipeline a user would otherwise build with stock GStreamer, at the same settings as
# `courtroom bench hearing`: P × (VP8 decode ! alpha method=green) into `compositor` over a
# background image (a still of our empty courtroom), then x264enc (zerolatency, ultrafast),
# mp4mux and a file, paced in real time. Prints its CPU use as JSON.
#
# usage: benches/baseline_gst.sh PARTICIPANTS SECONDS [WxH] [FPS]
set -euo pipefail
P=${1:-5}
S=${2:-20}
SIZE=${3:-1280x720}
FPS=${4:-25}
W=${SIZE%x*}
H=${SIZE#*x}
BIN=${BENCH_COURTROOM:-${CARGO_TARGET_DIR:-/var/cache/courtroom/target}/release/courtroom}
WORK=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# A keyable clip: a red ball moving on chroma green, VP8 at about 1 Mbit/s, long enough for the run.
gst-launch-1.0 -q videotestsrc num-buffers=$(((S + 8) * 25)) pattern=ball foreground-color=0xffd22828 \
  background-color=0xff00b140 ! video/x-raw,width=640,height=480,framerate=25/1 \
  ! vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=1000000 keyframe-max-dist=50 \
  ! webmmux ! filesink location="$WORK/clip.webm"
"$BIN" render --size "${W}x${H}" --out "$WORK/room.png" >/dev/null 2>&1

cols=3
pads=()
for i in $(seq 1 "$P"); do
  pads+=("sink_$i::xpos=$(( ((i - 1) % cols) * W / cols ))" "sink_$i::ypos=$(( ((i - 1) / cols) * H / 2 ))")
done
pipeline=(compositor name=mix background=black "${pads[@]}"
  ! "video/x-raw,width=$W,height=$H,framerate=$FPS/1" ! videoconvert
  ! x264enc tune=zerolatency speed-preset=ultrafast bitrate=2500 key-int-max=$((FPS * 2))
  ! h264parse ! mp4mux fragment-duration=1000 ! filesink location="$WORK/out.mp4" sync=true
  filesrc location="$WORK/room.png" ! pngdec ! videoconvert ! imagefreeze
  ! "video/x-raw,framerate=$FPS/1" ! mix.sink_0)
for i in $(seq 1 "$P"); do
  pipeline+=(filesrc location="$WORK/clip.webm" ! matroskademux ! vp8dec ! videoconvert ! alpha method=green
    ! videoscale ! "video/x-raw,width=$((W / cols)),height=$((H / 2))"
    ! queue ! "mix.sink_$i")
done

gst-launch-1.0 -q "${pipeline[@]}" >"$WORK/gst.log" 2>&1 &
pid=$!
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
sleep 3
c0=$(cpu)
t0=$(date +%s.%N)
sleep "$S"
c1=$(cpu)
t1=$(date +%s.%N)
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
tck=$(getconf CLK_TCK)
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v tck="$tck" -v p="$P" -v out="${W}x${H}@${FPS}" \
  'BEGIN { printf "{\"baseline\": \"gstreamer compositor + alpha + x264enc\", \"participants\": %d, \"output\": \"%s\", \"cpu_cores\": %.4f, \"wall_s\": %.2f}\n", p, out, (c1 - c0) / tck / (t1 - t0), t1 - t0 }'
