#!/usr/bin/env python3
"""Seeds fuzz/corpus/fuzz_msg/ from tests/vectors: each vector becomes one input in the harness's
format (byte 0 API key, 0xfe/0xff for the consumer-protocol structures; byte 1 version; byte 2
bit 0 set for responses; then the body). Only the first N vectors per message and version are
taken, to keep the committed corpus small. Idempotent: file names derive from the vector."""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_KEYS = {"ConsumerProtocolSubscription": 0xFE, "ConsumerProtocolAssignment": 0xFF}


def api_key(schemas, name):
    if name in DATA_KEYS:
        return DATA_KEYS[name]
    text = open(os.path.join(schemas, name + ".json")).read()
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))["apiKey"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schemas", default=os.path.join(ROOT, "..", "shared", "kafka-protocol", "messages"))
    ap.add_argument("--vectors", default=os.path.join(ROOT, "tests", "vectors"))
    ap.add_argument("--out", default=os.path.join(ROOT, "fuzz", "corpus", "fuzz_msg"))
    ap.add_argument("--per-version", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    written = 0
    for fn in sorted(os.listdir(args.vectors)):
        if not fn.endswith(".txt"):
            continue
        name = fn[:-4]
        key = api_key(args.schemas, name)
        resp = 1 if name.endswith("Response") else 0
        seen = {}
        lines = open(os.path.join(args.vectors, fn)).read().split("\n")
        for i, line in enumerate(lines):
            if not line.startswith("msg "):
                continue
            ver = int(line.split()[2])
            k = seen.get(ver, 0)
            seen[ver] = k + 1
            if k >= args.per_version:
                continue
            body = bytes.fromhex(lines[i + 1][4:])
            with open(os.path.join(args.out, f"{name}-v{ver}-{k}"), "wb") as f:
                f.write(bytes([key, ver, resp]) + body)
            written += 1
    print(f"seed_corpus: {written} inputs in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
