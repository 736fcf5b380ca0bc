#!/usr/bin/env bash
# Regenerates assets/fonts/NotoSansSC-Bold-subset.otf, the nameplate font, from Debian's
# fonts-noto-cjk (Noto Sans CJK SC Bold, SIL OFL 1.1; licence in assets/fonts/OFL.txt).
# Needs: apt-get install fonts-noto-cjk; pip install fonttools.
# Coverage: ASCII and Latin-1, general and CJK punctuation, full-width forms, and the 3755
# level-1 characters of GB2312 (rows 16-55), which hold almost all of the 3500 common
# simplified characters of the 通用规范汉字表. Anything else draws as a replacement box.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${NOTO_CJK:-/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc}
out=assets/fonts/NotoSansSC-Bold-subset.otf
text=$(mktemp)
trap 'rm -f "$text"' EXIT
python3 - "$text" <<'PY'
import sys
chars = []
# GB2312 level 1: rows 16-55 (lead bytes 0xB0-0xD7), 94 cells each; 55-90..94 are unassigned.
for lead in range(0xB0, 0xD8):
    for trail in range(0xA1, 0xFF):
        try:
            chars.append(bytes([lead, trail]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
open(sys.argv[1], "w", encoding="utf-8").write("".join(chars))
PY
# Face 2 of the collection is Noto Sans CJK SC.
pyftsubset "$src" --font-number=2 \
  --text-file="$text" \
  --unicodes="U+0020-007E,U+00A0-00FF,U+2000-206F,U+2190-2193,U+25A1,U+3000-303F,U+FF00-FFEF" \
  --layout-features='*' --notdef-outline --name-IDs='*' --name-languages='*' \
  --no-hinting --desubroutinize \
  --output-file="$out"
ls -l "$out"
