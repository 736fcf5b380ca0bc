#!/usr/bin/env bash
# Renders the README's stills of the courtroom into docs/images/ with `courtroom render`:
# nine synthetic people (the golden tests' colours) in every view of the default layout, the
# mediation room, and the nameplates in Chinese. Run after a change to the scene, and look at
# the images before committing them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/release/courtroom"
out="$root/docs/images"
[ -x "$bin" ] || (cd "$root" && cargo build --release --bin courtroom)

people=(presiding_judge=c83232 assessor_left=3c8cc8 assessor_right=c8a03c clerk=8c3cc8
        witness=b43c78 plaintiff=3250d2 defendant=d27832 plaintiff_agent=5078e6
        defendant_agent=e69650)
names=(presiding_judge=张伟 assessor_left=李娜 assessor_right=王芳 clerk=刘洋 witness=陈静
       plaintiff=赵磊 defendant=孙丽 plaintiff_agent=周杰 defendant_agent=吴敏)

render() { # NAME LAYOUT VIEW [extra args...]
    local name=$1 layout=$2 view=$3
    shift 3
    local args=()
    for p in "${people[@]}"; do
        # The mediation room has four seats: the mediator (the presiding judge's role),
        # the parties and the clerk.
        if [ "$layout" = mediation ]; then
            case "${p%%=*}" in presiding_judge | plaintiff | defendant | clerk) ;; *) continue ;; esac
        fi
        args+=(--participant "${p%%=*}=#${p#*=}")
    done
    (cd "$root" && "$bin" render --layout "$layout" --view "$view" --size 1280x720 \
        "${args[@]}" "$@" --out "$out/$name.png" 2>/dev/null)
    echo "$out/$name.png"
}

render courtroom-wide courtroom wide
render courtroom-bench courtroom bench
render courtroom-plaintiff courtroom plaintiff
render courtroom-defendant courtroom defendant
render courtroom-witness courtroom witness
render courtroom-speaker-presiding_judge courtroom speaker:presiding_judge
render courtroom-speaker-witness courtroom speaker:witness
name_args=(--locale zh-CN)
for n in "${names[@]}"; do name_args+=(--name "$n"); done
render courtroom-nameplates courtroom wide "${name_args[@]}"
render mediation-wide mediation wide

# Textured rooms compress poorly: store the stills as optimised RGB PNGs (half the size).
python3 - "$out" <<'PY'
import sys
from pathlib import Path
from PIL import Image
for name in ["courtroom-wide", "courtroom-bench", "courtroom-plaintiff", "courtroom-defendant",
             "courtroom-witness", "courtroom-speaker-presiding_judge", "courtroom-speaker-witness",
             "courtroom-nameplates", "mediation-wide"]:
    p = Path(sys.argv[1]) / f"{name}.png"
    Image.open(p).convert("RGB").save(p, optimize=True)
PY
