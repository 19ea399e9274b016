#!/usr/bin/env python3
"""Conformance-vector generator: the independent test oracle for kwire's protocol codec.

kwire's message codec is hand-written C. To test it against something that does not share its
mistakes, this script reads Apache Kafka's JSON message schemas directly (the files under
``shared/kafka-protocol/messages``) and applies the wire rules of the protocol facts sheet
(``shared/kafka-protocol/README.md`` sections 1 and 2). It deliberately uses nothing from the C
code, and only the Python standard library.

For every covered message and every version in its ``validVersions`` it writes five vectors to
``tests/vectors/<SchemaName>.txt``: vector 0 is the minimal message, vectors 1-4 are random but
deterministic (seeded from "<name>/<version>/<index>"). Each vector is a block::

    msg <SchemaName> <version>
    hex <lowercase hex of the encoded body>
    <key>=<value> dump lines
    end

The body has no size prefix and no request/response header. The dump format is documented in
``dump_struct`` and is printed identically by the C test (tests/unit/proto/test_vectors.c),
which decodes each vector, compares the dump, re-encodes and compares the bytes.

Usage::

    gen_vectors.py [--schemas DIR] [--out DIR]           write all vector files
    gen_vectors.py [--schemas DIR] [--out DIR] --check   compare; exit 1 if stale, 77 if no schemas
"""

import argparse
import hashlib
import json
import math
import random
import struct
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SCHEMAS = REPO.parent / "shared" / "kafka-protocol" / "messages"
DEFAULT_OUT = REPO / "tests" / "vectors"

APIS = [
    "ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "FindCoordinator",
    "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit", "OffsetFetch",
    "SaslHandshake", "SaslAuthenticate", "InitProducerId", "CreateTopics", "DeleteTopics",
    "CreatePartitions", "DescribeConfigs", "DescribeGroups", "ListGroups", "DeleteRecords",
    "OffsetForLeaderEpoch", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
    "TxnOffsetCommit", "ConsumerGroupHeartbeat", "ConsumerGroupDescribe", "DescribeCluster",
]
DATA_SCHEMAS = ["ConsumerProtocolSubscription", "ConsumerProtocolAssignment"]
SCHEMA_NAMES = [api + kind for api in APIS for kind in ("Request", "Response")] + DATA_SCHEMAS

RANDOM_VECTORS = 4
EXIT_SKIP = 77  # meson's "test skipped"

INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
INT_FORMATS = {"int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
               "int64": ">q"}
PRIMITIVES = set(INT_RANGES) | {"bool", "float64", "string", "uuid", "bytes", "records"}
NULLABLE_KINDS = {"string", "bytes", "records", "array", "struct"}


# --------------------------------------------------------------------------------------------
# Schema model
# --------------------------------------------------------------------------------------------

def strip_comments(text):
    """Removes // line comments from JSON text, leaving string literals (URLs...) alone."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class Versions:
    """A version range as written in the schemas: "3", "0-4", "9+" or "none"."""

    def __init__(self, spec):
        spec = (spec or "none").strip()
        if spec == "none":
            self.lo, self.hi = 1, 0
        elif spec.endswith("+"):
            self.lo, self.hi = int(spec[:-1]), 1 << 15
        elif "-" in spec:
            lo, hi = spec.split("-")
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(spec)

    def __contains__(self, ver):
        return self.lo <= ver <= self.hi

    def __iter__(self):
        return iter(range(self.lo, self.hi + 1))


class Field:
    """One field of a struct. ``kind`` is "array", "struct" or the primitive type name."""

    def __init__(self, spec, structs):
        self.name = spec["name"]
        type_name = spec["type"]
        self.is_array = type_name.startswith("[]")
        elem = type_name[2:] if self.is_array else type_name
        self.elem = elem if elem in PRIMITIVES else "struct"
        self.kind = "array" if self.is_array else self.elem
        self.struct = None
        if self.elem == "struct":
            self.struct = structs.resolve(elem, spec.get("fields"))
        self.versions = Versions(spec.get("versions"))
        self.nullable = Versions(spec.get("nullableVersions"))
        self.tag = spec.get("tag")
        self.tagged = Versions(spec.get("taggedVersions") if self.tag is not None else "none")
        override = spec.get("flexibleVersions")  # only RequestHeader.ClientId uses this
        self.flexible_override = Versions(override) if override is not None else None
        self.default = spec.get("default")
        if self.kind not in NULLABLE_KINDS and spec.get("nullableVersions", "none") != "none":
            raise ValueError(f"field {self.name}: type {type_name} cannot be nullable")

    def is_tagged(self, ver):
        return self.tag is not None and ver in self.tagged

    def is_positional(self, ver):
        return ver in self.versions and not self.is_tagged(ver)

    def is_null_ok(self, ver):
        return ver in self.nullable

    def is_flexible(self, ver, flexible):
        """Whether this field uses the compact encodings (a field may override the message)."""
        return ver in self.flexible_override if self.flexible_override else flexible


class Struct:
    """A named list of fields; ``max_tag`` is the highest tag any version of it uses."""

    def __init__(self, name):
        self.name = name
        self.fields = []

    def fill(self, field_specs, structs):
        self.fields = [Field(spec, structs) for spec in field_specs]

    @property
    def max_tag(self):
        return max((f.tag for f in self.fields if f.tag is not None), default=-1)

    def positional(self, ver):
        return [f for f in self.fields if f.is_positional(ver)]

    def tagged(self, ver):
        return sorted((f for f in self.fields if f.is_tagged(ver)), key=lambda f: f.tag)


class StructTable:
    """Resolves struct type names: inline definitions and the file's commonStructs."""

    def __init__(self, common_specs):
        self.common_specs = {s["name"]: s for s in common_specs}
        self.common = {}

    def resolve(self, name, inline_fields):
        if inline_fields is not None:
            st = Struct(name)
            st.fill(inline_fields, self)
            return st
        if name not in self.common:
            if name not in self.common_specs:
                raise ValueError(f"unknown struct type {name}")
            st = self.common[name] = Struct(name)
            st.fill(self.common_specs[name]["fields"], self)
        return self.common[name]


class Schema:
    """One message file: its name, version ranges and body struct."""

    def __init__(self, path):
        spec = json.loads(strip_comments(path.read_text(encoding="utf-8")))
        self.name = spec["name"]
        self.valid = Versions(spec["validVersions"])
        self.flexible = Versions(spec.get("flexibleVersions"))
        structs = StructTable(spec.get("commonStructs", []))
        self.body = Struct(self.name)
        self.body.fill(spec["fields"], structs)


# --------------------------------------------------------------------------------------------
# Values: a struct is a Record, an array a list (or None), a tagged field not on the wire ABSENT.
# --------------------------------------------------------------------------------------------

class Absent:
    """Marks a tagged field that is not written (the reader assumes its default)."""

    def __repr__(self):
        return "ABSENT"


ABSENT = Absent()


class Record:
    """A struct value: known field values by name, then unknown tagged fields (tag, payload)."""

    def __init__(self, values=None, unknown=None):
        self.values = values if values is not None else {}
        self.unknown = unknown if unknown is not None else []


def parse_default(field, ver):
    """The value a reader assumes for ``field`` in ``ver`` when it is absent."""
    d = field.default
    if field.kind == "array":
        return None if d == "null" else []
    if field.kind == "struct":
        if d == "null":
            return None
        return Record({f.name: ABSENT if f.is_tagged(ver) else parse_default(f, ver)
                       for f in field.struct.fields
                       if f.is_positional(ver) or f.is_tagged(ver)})
    return primitive_default(field.kind, d)


def primitive_default(kind, d):
    if kind in INT_RANGES:
        return int(d, 0) if isinstance(d, str) and d else int(d or 0)
    if kind == "bool":
        return d is True or (isinstance(d, str) and d.lower() == "true")
    if kind == "float64":
        return float(d) if d is not None else 0.0
    if kind == "string":
        return None if d == "null" else (d or "")
    if kind == "uuid":
        return bytes(16)
    if kind == "bytes":
        return None if d == "null" else b""
    if kind == "records":
        return None  # records default to null, per the schema rules
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------
# Encoding (README section 2)
# --------------------------------------------------------------------------------------------

def uvarint(n):
    """Unsigned LEB128 varint."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class Encoder:
    """Encodes a value tree for one message version."""

    def __init__(self, ver, flexible, with_unknown=True):
        self.ver = ver
        self.flexible = flexible
        self.with_unknown = with_unknown

    def struct(self, st, rec):
        out = bytearray()
        for f in st.positional(self.ver):
            out += self.field(f, rec.values[f.name])
        if self.flexible:
            out += self.tag_section(st, rec)
        return bytes(out)

    def tag_section(self, st, rec):
        entries = [(f.tag, self.field(f, rec.values[f.name]))
                   for f in st.tagged(self.ver) if rec.values[f.name] is not ABSENT]
        if self.with_unknown:
            entries += rec.unknown
        out = bytearray(uvarint(len(entries)))
        for tag, payload in entries:
            out += uvarint(tag) + uvarint(len(payload)) + payload
        return bytes(out)

    def field(self, f, value):
        compact = f.is_flexible(self.ver, self.flexible)
        null_ok = f.is_null_ok(self.ver)
        if value is None and not null_ok:
            raise ValueError(f"null in non-nullable field {f.name} v{self.ver}")
        if f.kind == "array":
            if value is None:
                return uvarint(0) if compact else struct.pack(">i", -1)
            head = uvarint(len(value) + 1) if compact else struct.pack(">i", len(value))
            return head + b"".join(self.element(f, v) for v in value)
        if f.kind == "struct":
            if null_ok:
                marker = struct.pack(">b", -1 if value is None else 1)
                return marker if value is None else marker + self.struct(f.struct, value)
            return self.struct(f.struct, value)
        return primitive(f.kind, value, compact)

    def element(self, f, value):
        if f.elem == "struct":
            return self.struct(f.struct, value)
        return primitive(f.elem, value, f.is_flexible(self.ver, self.flexible))


def primitive(kind, value, compact):
    if kind in INT_FORMATS:
        return struct.pack(INT_FORMATS[kind], value)
    if kind == "bool":
        return b"\x01" if value else b"\x00"
    if kind == "float64":
        return struct.pack(">d", value)
    if kind == "uuid":
        return value
    if kind == "string":
        data = None if value is None else value.encode("utf-8")
        return length_prefixed(data, compact, ">h")
    if kind in ("bytes", "records"):
        return length_prefixed(value, compact, ">i")
    raise ValueError(kind)


def length_prefixed(data, compact, classic_format):
    if compact:
        return uvarint(0) if data is None else uvarint(len(data) + 1) + data
    if data is None:
        return struct.pack(classic_format, -1)
    return struct.pack(classic_format, len(data)) + data


# --------------------------------------------------------------------------------------------
# Dump
# --------------------------------------------------------------------------------------------

def join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def dump_struct(out, prefix, st, rec, ver, flexible):
    """Appends ``key=value`` lines for a struct value.

    Order: positional fields in schema order; in flexible versions the known tagged fields of
    this version by ascending tag (their defaults when absent); then unknown tags in wire order
    as ``_tag.<N>=x:<hex>``. Nested struct fields get ``Parent.`` prefixed, array elements
    ``Name.<index>``.
    """
    for f in st.positional(ver):
        dump_field(out, join(prefix, f.name), f, rec.values[f.name], ver, flexible)
    if flexible:
        for f in st.tagged(ver):
            value = rec.values[f.name]
            if value is ABSENT:
                value = parse_default(f, ver)
            dump_field(out, join(prefix, f.name), f, value, ver, flexible)
    for tag, payload in rec.unknown:
        out.append(f"{join(prefix, '_tag.' + str(tag))}=x:{payload.hex()}")


def dump_field(out, key, f, value, ver, flexible):
    if f.kind == "array":
        if value is None:
            out.append(f"{key}=#null")
            return
        out.append(f"{key}=#{len(value)}")
        for i, elem in enumerate(value):
            if f.elem == "struct":
                dump_struct(out, f"{key}.{i}", f.struct, elem, ver, flexible)
            else:
                out.append(f"{key}.{i}={format_primitive(f.elem, elem)}")
    elif f.kind == "struct":
        if f.is_null_ok(ver):
            out.append(f"{key}=?null" if value is None else f"{key}=?present")
        if value is not None:
            dump_struct(out, key, f.struct, value, ver, flexible)
    else:
        out.append(f"{key}={format_primitive(f.kind, value)}")


def format_primitive(kind, value):
    if kind in INT_RANGES:
        return str(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "float64":
        return struct.pack(">d", value).hex()
    if kind == "uuid":
        return value.hex()
    if value is None:
        return "null"
    data = value.encode("utf-8") if kind == "string" else value
    return "x:" + data.hex()


# --------------------------------------------------------------------------------------------
# Value generation
# --------------------------------------------------------------------------------------------

MULTIBYTE_SAMPLES = ["ü", "日本語", "🦀", "Ωmega-λ", "naïve café", "Ж", "€uro",
                     "a\u0301"]
TEXT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._ éßж中🙂"
FLOAT_SAMPLES = [0.0, -0.0, math.inf, -math.inf, 1.0, -2.5, 1.7976931348623157e308,
                 5e-324, -1e-300]


class Generator:
    """Builds one value tree for a message version, either minimal or random.

    ``long_path`` (random vectors only) is a list of fields from the body down to one array
    field: every field on the path is forced present and non-empty, and the first instance of
    the last one gets 40-60 elements, generated "lean" (nested arrays of at most one element,
    short strings and bytes) to keep the files small.
    """

    def __init__(self, rng, ver, flexible, minimal=False, long_path=()):
        self.rng = rng
        self.ver = ver
        self.flexible = flexible
        self.minimal = minimal
        self.forced = {id(f) for f in long_path}
        self.long_target = id(long_path[-1]) if long_path else None
        self.lean = 0  # > 0 while generating the elements of the long array

    # -- structs ------------------------------------------------------------------------------
    def struct(self, st):
        rec = Record()
        for f in st.fields:
            if f.is_positional(self.ver):
                rec.values[f.name] = self.field(f)
            elif f.is_tagged(self.ver):
                rec.values[f.name] = self.tagged_field(f)
        if self.flexible and not self.minimal and self.rng.random() < 0.25:
            rec.unknown = self.unknown_tags(st.max_tag)
        return rec

    def unknown_tags(self, max_known):
        rng = self.rng
        count, tags = rng.randint(1, 2), set()
        while len(tags) < count:
            step = rng.choice([1, 1, 2, 3, 5, 9, 127, 128, 300, 16384])
            tags.add(max_known + step)
        return [(t, self.random_bytes(8)) for t in sorted(tags)]

    def tagged_field(self, f):
        """A tagged field: ABSENT, or a value that differs from its default."""
        if self.minimal or (id(f) not in self.forced and self.rng.random() < 0.5):
            return ABSENT
        enc = Encoder(self.ver, True, with_unknown=False)
        default_bytes = enc.field(f, parse_default(f, self.ver))
        for _ in range(100):
            value = self.field(f)
            if enc.field(f, value) != default_bytes:
                return value
        raise RuntimeError(f"cannot make a non-default value for {f.name}")

    # -- fields -------------------------------------------------------------------------------
    def field(self, f):
        forced = id(f) in self.forced
        if f.is_null_ok(self.ver) and not forced and self.null_now():
            return None
        if f.kind == "array":
            return self.array(f, forced)
        if f.kind == "struct":
            return self.struct(f.struct)
        return self.primitive(f.kind)

    def array(self, f, forced):
        if id(f) != self.long_target or self.minimal:
            return [self.element(f) for _ in range(self.array_length(forced))]
        self.long_target = None  # only the first instance is long
        self.lean += 1  # keep the long array's elements small
        elements = [self.element(f) for _ in range(self.rng.randint(40, 60))]
        self.lean -= 1
        return elements

    def element(self, f):
        return self.struct(f.struct) if f.elem == "struct" else self.primitive(f.elem)

    def null_now(self):
        return self.minimal or self.rng.random() < 0.15

    def array_length(self, forced):
        if self.minimal:
            return 0
        return self.rng.randint(1 if forced else 0, 1 if self.lean else 3)

    # -- primitives ---------------------------------------------------------------------------
    def primitive(self, kind):
        if self.minimal:
            return primitive_default(kind, None) if kind != "records" else b""
        if kind in INT_RANGES:
            return self.random_int(*INT_RANGES[kind])
        rng = self.rng
        if kind == "bool":
            return rng.random() < 0.5
        if kind == "float64":
            return rng.choice(FLOAT_SAMPLES + [rng.uniform(-1e9, 1e9)])
        if kind == "uuid":
            return bytes(16) if rng.random() < 0.2 else self.random_bytes(16, 16)
        if kind == "string":
            return self.random_string()
        return self.random_bytes(16 if self.lean else 64)

    def random_int(self, lo, hi):
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            return rng.choice([lo, hi, 0, 1, -1 if lo < 0 else hi - 1])
        if r < 0.7:
            return rng.randint(max(lo, -1000), min(hi, 1000))
        return rng.randint(lo, hi)

    def random_string(self):
        rng = self.rng
        r = rng.random()
        if r < 0.2:
            return ""
        if r < 0.45:
            return rng.choice(MULTIBYTE_SAMPLES)
        if r < 0.5 and not self.lean:  # long enough to need a two-byte compact length
            return "".join(rng.choice(TEXT_ALPHABET) for _ in range(rng.randint(128, 200)))
        return "".join(rng.choice(TEXT_ALPHABET) for _ in range(rng.randint(1, 16)))

    def random_bytes(self, max_len, min_len=0):
        n = self.rng.randint(min_len, max_len)
        return bytes(self.rng.getrandbits(8) for _ in range(n))


def array_paths(st, ver, prefix=()):
    """Every path (list of fields from the body) that ends in an array field present in ``ver``."""
    paths = []
    for f in st.fields:
        if not (f.is_positional(ver) or f.is_tagged(ver)):
            continue
        path = prefix + (f,)
        if f.kind == "array":
            paths.append(path)
        if f.struct is not None:
            paths += array_paths(f.struct, ver, path)
    return paths


# --------------------------------------------------------------------------------------------
# Vectors and files
# --------------------------------------------------------------------------------------------

def seeded_rng(key):
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def make_vector(schema, ver, index):
    """Returns (body bytes, dump lines) for vector ``index`` of ``schema`` version ``ver``."""
    flexible = ver in schema.flexible
    rng = seeded_rng(f"{schema.name}/{ver}/{index}")
    if index == 0:
        gen = Generator(rng, ver, flexible, minimal=True)
    else:
        paths = array_paths(schema.body, ver) if index == 1 else []
        long_path = rng.choice(paths) if paths else ()
        gen = Generator(rng, ver, flexible, long_path=long_path)
    rec = gen.struct(schema.body)
    body = Encoder(ver, flexible).struct(schema.body, rec)
    lines = []
    dump_struct(lines, "", schema.body, rec, ver, flexible)
    return body, lines


def render_schema(schema):
    """The full text of one vectors file."""
    blocks = []
    for ver in schema.valid:
        for index in range(1 + RANDOM_VECTORS):
            body, lines = make_vector(schema, ver, index)
            blocks.append(f"msg {schema.name} {ver}\nhex {body.hex()}\n")
            blocks.extend(line + "\n" for line in lines)
            blocks.append("end\n")
    return "".join(blocks)


def render_all(schema_dir):
    """Maps file name to contents for every covered schema."""
    return {f"{name}.txt": render_schema(Schema(schema_dir / f"{name}.json"))
            for name in SCHEMA_NAMES}


def self_check():
    """Hand-computed encodings, checked on every run so a broken rule cannot go unnoticed."""
    assert uvarint(0) == b"\x00" and uvarint(127) == b"\x7f"
    assert uvarint(128) == b"\x80\x01" and uvarint(300) == b"\xac\x02"
    assert length_prefixed(None, True, ">h") == b"\x00"
    assert length_prefixed(b"", False, ">h") == b"\x00\x00"
    assert primitive("string", None, False) == b"\xff\xff"
    assert primitive("bytes", None, False) == b"\xff\xff\xff\xff"


def write_files(files, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")


def stale_files(files, out_dir):
    """Names of files that are missing or differ, plus unexpected .txt files."""
    stale = []
    for name, text in files.items():
        path = out_dir / name
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            stale.append(name)
    if out_dir.is_dir():
        stale += sorted(p.name for p in out_dir.glob("*.txt") if p.name not in files)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS,
                        help="directory of Kafka JSON message schemas")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="vectors directory")
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in --out instead of writing them")
    args = parser.parse_args(argv)

    if not args.schemas.is_dir():
        print(f"gen_vectors: schema directory {args.schemas} not found; skipping", file=sys.stderr)
        return EXIT_SKIP if args.check else 2
    self_check()
    started = time.monotonic()
    files = render_all(args.schemas)
    if args.check:
        stale = stale_files(files, args.out)
        for name in stale:
            print(f"stale or missing: {args.out / name}")
        if stale:
            print("regenerate with tests/tools/gen_vectors.py", file=sys.stderr)
        return 1 if stale else 0
    write_files(files, args.out)
    vectors = sum(text.count("\nend\n") for text in files.values())
    size = sum(len(text.encode("utf-8")) for text in files.values())
    print(f"gen_vectors: {len(files)} files, {vectors} vectors, {size} bytes "
          f"in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
