"""Reads one file's C2PA manifest with the C2PA project's SDK (c2pa-python), trusting the
given root certificate, and prints what a third-party verifier concludes, as JSON:
{"state": "Trusted" | "Valid" | "Invalid" | "none", "failures": [codes], "assertion": {...}}.

Usage: check.py FILE ANCHOR.pem [LABEL]
"""
import json
import sys

import c2pa

path, anchor = sys.argv[1], sys.argv[2]
label = sys.argv[3] if len(sys.argv) > 3 else "org.courtroom.segment"
context = c2pa.Context.from_dict({"trust": {"user_anchors": open(anchor).read()}})
try:
    with open(path, "rb") as f:
        reader = c2pa.Reader("video/mp4", f, context=context)
        results = reader.get_validation_results() or {}
        active = results.get("activeManifest", {})
        manifest = json.loads(reader.json())
        claim = manifest["manifests"][manifest["active_manifest"]]
        assertion = next((a["data"] for a in claim["assertions"] if a["label"] == label), None)
        print(json.dumps({
            "state": str(reader.get_validation_state()),
            "failures": sorted({s["code"] for s in active.get("failure", [])}),
            "assertion": assertion,
        }))
except Exception as e:  # a file without a manifest, or one that no longer parses
    print(json.dumps({"state": "none", "failures": [type(e).__name__ + ": " + str(e)], "assertion": None}))
