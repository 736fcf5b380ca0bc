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

# An exhibit on the evidence display: a one-page contract (a PDF written here, Helvetica), in
# the wide view and full frame.
exhibit="$(mktemp --suffix=.pdf)"
python3 - "$exhibit" <<'PY'
import sys
lines = [("F2", 22, "EXHIBIT P-1"), ("F2", 16, "Contract of sale"), ("F1", 11, ""),
         ("F1", 11, "The seller, Zhao Lei, sells to the buyer, Sun Li, the car described below"),
         ("F1", 11, "for the price of CNY 86,000, payable on delivery at the seller's address."),
         ("F1", 11, ""), ("F1", 11, "Make and model: Example Motors E5, 2021"),
         ("F1", 11, "Delivery: 15 March 2026"), ("F1", 11, ""),
         ("F1", 11, "Signed in Guangzhou on 1 March 2026.")]
ops, y = [], 780
for font, size, text in lines:
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    ops.append(f"BT /{font} {size} Tf 60 {y} Td ({text}) Tj ET")
    y -= size * 1.6
ops.append("0.8 0 0 RG 3 w 380 120 m 540 120 l S")
stream = "\n".join(ops)
objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"]
out, offsets = b"%PDF-1.4\n", []
for i, body in enumerate(objs):
    offsets.append(len(out))
    out += f"{i + 1} 0 obj\n{body}\nendobj\n".encode()
xref = len(out)
out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
out += "".join(f"{o:010} 00000 n \n" for o in offsets).encode()
out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
open(sys.argv[1], "wb").write(out)
PY
caption="Exhibit P-1 · Contract of sale · 赵磊, plaintiff"
render courtroom-exhibit courtroom wide --exhibit "$exhibit" --exhibit-caption "$caption"
render courtroom-exhibit-full courtroom exhibit --exhibit "$exhibit" --exhibit-caption "$caption" \
    --exhibit-presenter plaintiff
rm -f "$exhibit"

# Textured rooms compress poorly: store the stills as optimised RGB PNGs (half the size).
python3 - "$out" <<'PY'
import sys
from pathlib import Path
from PIL import Image
for name in ["courtroom-wide", "courtroom-bench", "courtroom-plaintiff", "courtroom-defendant",
             "courtroom-witness", "courtroom-speaker-presiding_judge", "courtroom-speaker-witness",
             "courtroom-nameplates", "mediation-wide", "courtroom-exhibit",
             "courtroom-exhibit-full"]:
    p = Path(sys.argv[1]) / f"{name}.png"
    Image.open(p).convert("RGB").save(p, optimize=True)
PY
