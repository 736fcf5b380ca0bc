#!/usr/bin/env bash
# The composite's two encoders side by side, in one run: CPU cores each takes to encode
# 1280x720 at 25 fps, with the settings of src/media/encoder.rs (x264: zerolatency,
# ultrafast; VP8: realtime, cpu-used=-16, CBR, no lag, error resilient), at the default
# bitrate. Two sources: a mostly still picture with a small moving part (`ball`: close to a
# courtroom where people sit and talk) and full-frame motion (`smpte` scrolling: a camera
# move). Each encoder's figure is the pipeline's CPU time minus that of the same source into
# `fakesink`, over the wall time. Usage: benches/encoders.sh [SECONDS]
set -euo pipefail
secs=${1:-20}
frames=$((secs * 25))
bitrate=2500
kfi=50
x264="x264enc tune=zerolatency speed-preset=ultrafast bitrate=$bitrate key-int-max=$kfi"
vp8="vp8enc deadline=1 cpu-used=-16 end-usage=cbr target-bitrate=$((bitrate * 1000)) lag-in-frames=0 error-resilient=default keyframe-max-dist=$kfi threads=1"
cpu() { # SOURCE ELEMENT -> CPU seconds (user + system) of the whole pipeline
  local src="videotestsrc is-live=true num-buffers=$frames $1 ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1"
  local TIMEFORMAT='%U %S'
  # shellcheck disable=SC2086
  { time gst-launch-1.0 -q $src ! $2 ! fakesink sync=false >/dev/null 2>&1; } 2>&1 | awk '{print $1+$2}'
}
printf '%-28s %-6s %s\n' source codec cores
for pattern in "pattern=ball" "pattern=smpte horizontal-speed=4"; do
  base=$(cpu "$pattern" identity)
  for codec in x264 vp8; do
    used=$(cpu "$pattern" "${!codec}")
    printf '%-28s %-6s %.3f\n' "${pattern#pattern=}" "$codec" "$(awk -v u="$used" -v b="$base" -v s="$secs" 'BEGIN { print (u - b) / s }')"
  done
done
