#!/usr/bin/env python3
"""Seeds the fuzz corpora. fuzz/corpus/fuzz_msg/ from tests/vectors: each vector becomes one input in the harness's
format (byte 0 API key, 0xfe/0xff for the consumer-protocol structures; byte 1 version; byte 2
bit 0 set for responses; then the body). Only the first N vectors per message and version are
taken, to keep the committed corpus small. fuzz_records, fuzz_legacy and fuzz_decompress get
record batches, legacy message sets and compressed streams built here from the README layouts
(and the CLI-made fixtures in tests/vectors/codec). Idempotent: names derive from the content."""
import argparse
import gzip
import hashlib
import json
import os
import re
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_KEYS = {"ConsumerProtocolSubscription": 0xFE, "ConsumerProtocolAssignment": 0xFF}


def api_key(schemas, name):
    if name in DATA_KEYS:
        return DATA_KEYS[name]
    text = open(os.path.join(schemas, name + ".json")).read()
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))["apiKey"]


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def zigzag(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varbytes(b):
    return zigzag(-1) if b is None else zigzag(len(b)) + b


def record(i, key, value, headers):
    body = b"\0" + zigzag(i) + zigzag(i) + varbytes(key) + varbytes(value) + zigzag(len(headers))
    for hk, hv in headers:
        body += varbytes(hk) + varbytes(hv)
    return zigzag(len(body)) + body


def batch(records, attributes=0, base_offset=0, compress=None, pid=-1):
    """A magic-2 batch (README section 5) holding the given (key, value, headers) records."""
    area = b"".join(record(i, *r) for i, r in enumerate(records))
    if compress:
        area = compress(area)
    n = len(records)
    after_crc = struct.pack(">hiqqqhii", attributes, n - 1, 1000, 1000 + n - 1, pid, 0, 0, n) + area
    head = struct.pack(">ib", -1, 2) + struct.pack(">I", crc32c(after_crc))
    return struct.pack(">qi", base_offset, len(head) + len(after_crc)) + head + after_crc


def legacy(magic, offset, key, value, attributes=0):
    """A legacy message (README section 5), CRC-32 over magic..end."""
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", 1000 + offset)
    for part in (key, value):
        body += struct.pack(">i", -1) if part is None else struct.pack(">i", len(part)) + part
    msg = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", offset, len(msg)) + msg


def gz(data):
    return gzip.compress(data, mtime=0)


def record_seeds():
    recs = [(b"k1", b"value-1", []), (None, b"v2", [(b"h", b"x"), (b"h2", None)]), (b"", None, [])]
    control = [(struct.pack(">hh", 0, 1), struct.pack(">hi", 0, 5), [])]
    v2 = [batch(recs), batch(recs, attributes=1, compress=gz), batch(control, attributes=0x30, pid=7),
          batch(recs) + batch(recs[:1], base_offset=3), batch(recs)[:-5]]
    inner0 = legacy(0, 0, b"a", b"one") + legacy(0, 1, None, b"two")
    inner1 = legacy(1, 0, b"a", b"one") + legacy(1, 1, None, b"two")
    old = [legacy(0, 5, b"k", b"v"), legacy(1, 6, None, b"value"), legacy(0, 1, None, gz(inner0), 1),
           legacy(1, 9, None, gz(inner1), 1), legacy(1, 6, None, b"value")[:-3]]
    codec_dir = os.path.join(ROOT, "tests", "vectors", "codec")
    comp = [bytes([1]) + gz(b"hello kafka " * 50)]
    for fn in sorted(os.listdir(codec_dir)):
        ids = {".gz": 1, ".lz4": 3, ".zst": 4}
        ext = os.path.splitext(fn)[1]
        if ext in ids:
            comp.append(bytes([ids[ext]]) + open(os.path.join(codec_dir, fn), "rb").read())
    return {
        "fuzz_records": [bytes([f]) + b for b in v2 for f in (0, 1)],
        "fuzz_legacy": [bytes([f]) + b for b in old for f in (0, 1)],
        "fuzz_decompress": comp,
    }


def write_seeds(corpus_root):
    for harness, inputs in record_seeds().items():
        out = os.path.join(corpus_root, harness)
        os.makedirs(out, exist_ok=True)
        for data in inputs:
            name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        print(f"seed_corpus: {len(inputs)} inputs in {out}", file=sys.stderr)


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
    write_seeds(os.path.dirname(args.out))


if __name__ == "__main__":
    main()
