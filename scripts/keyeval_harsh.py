#!/usr/bin/env python3
"""Runs the keyeval harness's gen.py with one extra profile, `harsh`: our own guess at the
held-out acceptance set ("darker exposure, duller screens, stronger spill and bounce light,
finer hair, lower bitrate"). Its ranges are set once from that sentence, not fitted to any
result; it exists so the keyer is checked beyond the public set.

    python3 scripts/keyeval_harsh.py --out DIR --seed 101 --count 12 --profile harsh

Every argument goes to gen.py; the harness directory comes from $KEYEVAL_HARNESS.
"""
import os
import sys

sys.path.insert(0, os.environ.get('KEYEVAL_HARNESS', os.path.join(os.path.dirname(__file__), '../../shared/keyeval')))
import gen  # noqa: E402

gen.PROFILES['harsh'] = dict(
    spill=(0.15, 0.50), falloff=(6, 22), bounce=(0.06, 0.18),
    exposure=(0.85, 0.65), screen_v=(0.65, 0.45), screen_s=(0.75, 0.45), gradient=(0.15, 0.5),
    vignette=(0.15, 0.5), wrinkle=(0.05, 0.2), hue_var=(0.01, 0.03),
    noise=(1.5, 3.5), kbps=(1000, 600), strands=(100, 300),
    strand_w=(0.7, 0.4), strand_op=(0.7, 0.45), blur_p=0.4)

if __name__ == '__main__':
    gen.main()
