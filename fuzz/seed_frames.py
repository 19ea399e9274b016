#!/usr/bin/env python3
"""Seeds fuzz/corpus/fuzz_frame/ from tests/vectors: conformance vectors as whole frames in the
kwire/mutate.h format (a request with its header; a response behind 'K', 'R', api key, version).
Takes the second vector (a random, well-filled one) of the lowest, highest and every third
version of each API message, to keep the committed corpus small. Idempotent: file names derive
from the content."""
import hashlib
import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
import gen_vectors as gv  # noqa: E402


def frames(schemas, vectors):
    for name in gv.SCHEMA_NAMES:
        spec = json.loads(gv.strip_comments((schemas / f"{name}.json").read_text()))
        if "apiKey" not in spec:
            continue
        key, resp = spec["apiKey"], spec["type"] == "response"
        flexible = gv.Versions(spec.get("flexibleVersions"))
        valid = gv.Versions(spec["validVersions"])
        text = (vectors / f"{name}.txt").read_text()
        seen = {}
        for block in text.split("end\n"):
            lines = block.strip().split("\n")
            if len(lines) < 2 or not lines[0].startswith("msg "):
                continue
            ver = int(lines[0].split()[2])
            seen[ver] = seen.get(ver, 0) + 1
            if seen[ver] != 2 or not (ver in (valid.lo, valid.hi) or ver % 3 == 0):
                continue
            body = bytes.fromhex(lines[1][4:])
            flex = ver in flexible
            if resp:
                hdr = b"KR" + struct.pack(">hhi", key, ver, 7)
                if flex and key != 18:  # ApiVersions responses keep header v0 (KIP-511)
                    hdr += b"\x00"
            else:
                hdr = struct.pack(">hhih", key, ver, 7, 5) + b"kwire" + (b"\x00" if flex else b"")
            yield hdr + body


def main():
    out = ROOT / "fuzz" / "corpus" / "fuzz_frame"
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in frames(gv.DEFAULT_SCHEMAS, ROOT / "tests" / "vectors"):
        (out / ("seed-" + hashlib.sha256(f).hexdigest()[:16])).write_bytes(f)
        n += 1
    print(f"seed_frames: {n} frames in {out}")


if __name__ == "__main__":
    main()
