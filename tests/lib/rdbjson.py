#!/usr/bin/python3
"""rdbjson.py: reads the output of `rdbkeep rdb json` and compares it with
other views of the same data.

  hdt EXPECTED OURS INSPECT [--subset]
      HDT3213/rdb's cases/NAME.json (the Go parser's own JSON) against ours.
  aof EXPECTED OURS [--subset]
      HDT3213/rdb's cases/NAME.aof (the same data as Redis commands), replayed
      into a model, against ours, byte for byte.
  librdb EXPECTED OURS INSPECT [--subset]
      redis/librdb's test/dumps/*_data.json (and the other data-level files)
      against ours.
  counts INSPECT OURS, counts-list LIST (lines INSPECT<TAB>OURS)
      `rdb inspect --json` (counters kept by the inspect tool) against the
      keys `rdb json` printed (two code paths over the same file).
  content ORIG CONV --target N [--redis-load] [--drop-expired]
      The content of a converted file (or of what Redis saved after loading
      it) against the original: what must survive, what the target cannot
      hold. content-list LIST takes "ORIG<TAB>CONV" lines, and
      --listpack-zsets: the loading server had the default listpack limits.
  convert-matrix BIN LIST WORKDIR [--targets 6,7,...] [--drop-targets 10,...]
      rdb convert of every file for every target, with the checks of
      content plus the converter's exit status, messages and warnings.
  truncate BIN LIST
      `BIN rdb verify -` on every prefix of each file (or a sample): exit 1
      exactly, "offset" in the message, no signal, no hang.
  flip BIN LIST COUNT
      Single-byte changes of checksummed files must all be refused (exit 1).
  crc INSPECT...
      CRC64 computed here (from the format's definition) against inspect's.
  craft-hfe OUT NOW_MS / hfe-check HELD OURS MODE NOW_MS
      An RDB 12 file with hash field TTLs in the past and the future, made
      here from the format's definition, and the check of `rdb json` of it or
      of its conversions.

Strings in our JSON are binary-safe: bytes that are not valid UTF-8 come as
\\udcNN, so s.encode('utf-8', 'surrogateescape') gives the exact bytes back.

Every command prints "FAIL: ..." lines on stderr for what does not match and
ends with one line "checks N fails M" on stdout (tests/lib/rdbtest.sh adds it
to the script's tally). Exit status 0 unless the helper itself broke.
"""
import base64
import concurrent.futures
import datetime
import json
import os
import random
import re
import subprocess
import sys
import time

# ---- tally -----------------------------------------------------------------------


class Tally:
    def __init__(self, label=""):
        self.checks = 0
        self.fails = 0
        self.label = label

    def fail(self, msg):
        self.checks += 1
        self.fails += 1
        print("FAIL: %s%s" % (self.label + ": " if self.label else "", msg), file=sys.stderr)

    def ok(self, cond, msg):
        if cond:
            self.checks += 1
        else:
            self.fail(msg)
        return cond

    def eq(self, what, expected, actual):
        if expected == actual:
            self.checks += 1
            return True
        self.fail("%s differs:\n  %s" % (what, "\n  ".join(diff(expected, actual))))
        return False

    def keys(self, what, expected, actual):
        """Two sets of keys: the ones missing and the unexpected ones."""
        expected, actual = set(expected), set(actual)
        if expected == actual:
            self.checks += 1
            return True
        missing, extra = sorted(expected - actual), sorted(actual - expected)
        self.fail("%s differ: %d missing%s, %d unexpected%s" % (
            what, len(missing), (" " + short(missing, 300)) if missing else "",
            len(extra), (" " + short(extra, 300)) if extra else ""))
        return False

    def report(self):
        print("checks %d fails %d" % (self.checks, self.fails))


def short(x, n=160):
    s = repr(x)
    return s if len(s) <= n else s[: n - 3] + "..."


def diff(exp, act, path="", out=None, limit=8):
    """A readable list of the differences between two JSON-like values."""
    if out is None:
        out = []
    if len(out) >= limit:
        return out
    if isinstance(exp, dict) and isinstance(act, dict):
        for k in exp:
            if k not in act:
                out.append("%s[%s]: missing (expected %s)" % (path, short(k, 60), short(exp[k])))
            else:
                diff(exp[k], act[k], "%s[%s]" % (path, short(k, 60)), out, limit)
            if len(out) >= limit:
                return out
        for k in act:
            if k not in exp:
                out.append("%s[%s]: unexpected %s" % (path, short(k, 60), short(act[k])))
                if len(out) >= limit:
                    return out
    elif isinstance(exp, (list, tuple)) and isinstance(act, (list, tuple)):
        if len(exp) != len(act):
            out.append("%s: length expected %d, got %d" % (path, len(exp), len(act)))
        for i, (e, a) in enumerate(zip(exp, act)):
            if e != a:
                diff(e, a, "%s[%d]" % (path, i), out, limit)
                if len(out) >= limit:
                    return out
        if len(exp) != len(act):
            extra = exp[len(act):] if len(exp) > len(act) else act[len(exp):]
            out.append("%s: %s beyond the common length: %s" %
                       (path, "missing" if len(exp) > len(act) else "extra", short(extra)))
    elif exp != act or type(exp) != type(act):
        out.append("%s: expected %s, got %s" % (path or "value", short(exp), short(act)))
    return out


# ---- our JSON ----------------------------------------------------------------------


class PDict(dict):
    """A JSON object that also keeps its pairs in order, duplicates included
    (stream entries may repeat a field name; a dict would hide that)."""
    pass


def _pairs_hook(pairs):
    d = PDict(pairs)
    d.pairs = pairs
    return d


def _parse_int(text):
    # A zset score of negative zero is written -0: an integer to JSON, but
    # a float for the comparisons, which keep the sign.
    return -0.0 if text == "-0" else int(text)


def B(s):
    """Our JSON string -> the exact bytes."""
    return s.encode("utf-8", "surrogateescape")


def T(b):
    """Bytes -> text as a JSON writer that replaces invalid UTF-8 shows it."""
    return b.decode("utf-8", "replace")


def load_ours(path, tally):
    """Parses `rdb json` output: one object per line. A line that is not
    valid UTF-8 JSON is a failure (reported with its position); the rest
    are still returned."""
    records = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                o = json.loads(line.decode("utf-8"), object_pairs_hook=_pairs_hook, parse_int=_parse_int)
            except (ValueError, UnicodeDecodeError) as e:
                pos = getattr(e, "pos", 0) or 0
                tally.fail("%s line %d is not valid JSON (%s); around it: %s" %
                           (path, n, e, short(line[max(0, pos - 80): pos + 40])))
                continue
            records.append(o)
    return records


def score(x):
    return float(x)  # numbers, and "inf", "-inf" as strings


def exact_score(x):
    """A score as comparable data that keeps what float equality hides: the
    sign of zero (ZSCORE shows -0 and 0 apart, and so does DEBUG DIGEST)."""
    return repr(float(x))


def stream_id(s):
    a, b = s.split("-")
    return (int(a), int(b))


def canon_stream(v):
    """A stream value of our JSON as comparable data (names and values as bytes)."""
    groups = []
    for g in v.get("groups", []):
        consumers = []
        for c in g.get("consumers", []):
            consumers.append({
                "name": B(c["name"]),
                "seen_time": c["seen_time"],
                "active_time": c["active_time"],
                "pending": list(c["pending"]),
            })
        groups.append({
            "name": B(g["name"]),
            "last_id": g["last_id"],
            "entries_read": g.get("entries_read"),
            "pending": [(p["id"], p["delivery_time"], p["delivery_count"]) for p in g["pending"]],
            "consumers": sorted(consumers, key=lambda c: c["name"]),
        })
    out = {
        # Our entries carry a flat [field, value, ...] list (a field may repeat).
        "entries": [(e["id"], tuple((B(f), B(x)) for f, x in zip(e["fields"][::2], e["fields"][1::2])))
                    for e in v["entries"]],
        "length": v["length"],
        "last_id": v["last_id"],
        "first_id": v["first_id"],
        "max_deleted_id": v["max_deleted_id"],
        "entries_added": v["entries_added"],
        "groups": sorted(groups, key=lambda g: g["name"]),
    }
    if "idmp" in v:
        out["idmp"] = v["idmp"]
    return out


def canon_value(t, v):
    if t == "string":
        return B(v)
    if t == "list":
        return [B(x) for x in v]
    if t == "set":
        return sorted(B(x) for x in v)
    if t == "zset":
        return sorted((B(m), exact_score(s)) for m, s in v)
    if t == "hash":
        return sorted((B(f), B(x)) for f, x in v.pairs)
    if t == "stream":
        return canon_stream(v)
    if t == "module":
        return {"module": v["module"], "encver": v["encver"], "data": v["data"]}
    raise ValueError("unknown type %r" % t)


def canon_record(o):
    """One key of our JSON as comparable data."""
    rec = {"type": o["type"], "value": canon_value(o["type"], o["value"]),
           "expire_ms": o.get("expire_ms")}
    fe = o.get("field_expires")
    rec["field_expires"] = sorted((B(f), ms) for f, ms in fe.pairs) if fe else []
    return rec


def by_key(records, tally, what):
    """{(db, key bytes): record}; a key twice in one database is a failure."""
    out = {}
    for o in records:
        k = (o["db"], B(o["key"]))
        tally.ok(k not in out, "%s: key %s in db %d twice" % (what, short(k[1]), k[0]))
        out[k] = o
    return out


def value_len(o):
    v = o["value"]
    if o["type"] in ("string", "module"):
        return 1
    if o["type"] == "stream":
        return len(v["entries"])
    return len(v.pairs) if o["type"] == "hash" else len(v)


# ---- inspect ------------------------------------------------------------------------


def function_name(code):
    m = re.match(r"#!\S+.*?\bname=(\S+)", code.split("\n", 1)[0])
    return m.group(1) if m else None


def cmd_counts_list(args, tally):
    """counts-list LIST: counts for each line "INSPECT<TAB>OURS" of LIST."""
    for insp, ours in read_list(args[0]):
        t = Tally(json.load(open(insp))["file"])
        cmd_counts([insp, ours], t)
        tally.checks += t.checks
        tally.fails += t.fails


def cmd_counts(args, tally):
    insp = json.load(open(args[0]))
    recs = load_ours(args[1], tally)
    tally.eq("inspect keys vs rdb json lines", insp["keys"], len(recs))
    types, encs, dbs, exp_per_db = {}, {}, {}, {}
    expires = fexp = elements = 0
    has_stream = False
    for o in recs:
        types[o["type"]] = types.get(o["type"], 0) + 1
        e = "%s/%s" % (o["type"], o["encoding"])
        encs[e] = encs.get(e, 0) + 1
        dbs[o["db"]] = dbs.get(o["db"], 0) + 1
        if "expire_ms" in o:
            expires += 1
            exp_per_db[o["db"]] = exp_per_db.get(o["db"], 0) + 1
        fexp += len(o.get("field_expires", {}))
        if o["type"] == "stream":
            has_stream = True
        else:
            elements += value_len(o)
    tally.eq("keys per type (inspect vs json)", insp["types"], types)
    tally.eq("keys per encoding (inspect vs json)", insp["encodings"], encs)
    tally.eq("keys per database (inspect vs json)",
             {d["db"]: d["keys"] for d in insp["databases"]}, dbs)
    tally.eq("keys with an expiry per database (inspect vs json)",
             {d["db"]: d["expires"] for d in insp["databases"] if d["expires"]}, exp_per_db)
    tally.eq("keys with an expiry (inspect vs json)", insp["expires"], expires)
    tally.eq("hash field expirations (inspect vs json)", insp["hash_field_expires"], fexp)
    now = int(time.time() * 1000)
    expired = sum(1 for o in recs if "expire_ms" in o and o["expire_ms"] <= now)
    tally.eq("already expired keys (inspect vs json)", insp["already_expired"], expired)
    if not has_stream:
        # inspect counts stream entries its own way (deleted ones too?); json
        # prints only live entries, so elements are compared without streams.
        tally.eq("elements (inspect vs json)", insp["elements"], elements)


# ---- HDT3213/rdb cases/*.json ------------------------------------------------------


def iso_to_ms(x):
    if isinstance(x, (int, float)):
        return int(x)
    dt = datetime.datetime.fromisoformat(x)
    td = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (td.days * 86400 + td.seconds) * 1000 + td.microseconds // 1000


# Their encoding names -> ours. Streams are named by their "version".
HDT_ENCODINGS = {
    ("string", "string"): {"string"},
    ("list", "ziplist"): {"ziplist"}, ("list", "quicklist"): {"quicklist"},
    ("list", "quicklist2"): {"quicklist2"}, ("list", "list"): {"linkedlist"},
    ("set", "intset"): {"intset"}, ("set", "set"): {"hashtable"}, ("set", "listpack"): {"listpack"},
    ("zset", "ziplist"): {"ziplist"}, ("zset", "listpack"): {"listpack"},
    ("zset", "zset"): {"skiplist"}, ("zset", "zset2"): {"skiplist2"},
    ("hash", "zipmap"): {"zipmap"}, ("hash", "ziplist"): {"ziplist"},
    ("hash", "listpack"): {"listpack"}, ("hash", "hash"): {"hashtable"},
    ("hash", "hashex"): {"hashtable-ttl", "hashtable-ttl-rc", "valkey-hash2"},
    ("hash", "listpackex"): {"listpack-ex", "listpack-ex-rc"},
}
HDT_STREAM_VERSIONS = {1: "stream", 2: "stream2", 3: "stream3"}


def hdt_stream(t, ours, key):
    """Their stream object against our canonical stream."""
    o = canon_stream(ours)
    # Their entries keep deleted messages (flag "deleted"); ours lists only
    # live entries. Their fields are a map, so a field repeated in one entry
    # shows once: our pairs are folded the same way for the comparison.
    live = [(m["id"], {k: v for k, v in m["fields"].items()})
            for node in t.get("entries", []) for m in node["msgs"] if not m["deleted"]]
    got = [(i, {T(f): T(x) for f, x in fields}) for i, fields in o["entries"]]
    tally_eq = []
    tally_eq.append(("%s entries" % key, live, got))
    tally_eq.append(("%s length" % key, t["len"], o["length"]))
    tally_eq.append(("%s last id" % key, t["lastId"], o["last_id"]))
    # Stream metadata the Go parser prints only for types 19 and 21.
    if "firstId" in t:
        tally_eq.append(("%s first id" % key, t["firstId"], o["first_id"]))
    if "maxDeletedId" in t:
        tally_eq.append(("%s max deleted id" % key, t["maxDeletedId"], o["max_deleted_id"]))
    if "addedEntriesCount" in t:
        tally_eq.append(("%s entries added" % key, t["addedEntriesCount"], o["entries_added"]))
    groups = []
    for g in t.get("groups") or []:
        e = {"name": g["name"], "last_id": g["lastId"],
             "pending": [(p["id"], p["deliveryTime"], p["deliveryCount"]) for p in g.get("pending") or []],
             "consumers": sorted(({"name": c["name"], "seen_time": c["seenTime"],
                                   "active_time": c.get("activeTime", c["seenTime"]),
                                   "pending": c.get("pending") or []}
                                  for c in g.get("consumers") or []), key=lambda c: c["name"])}
        if "entriesRead" in g:
            e["entries_read"] = g["entriesRead"]
        groups.append(e)
    ours_groups = []
    for g in o["groups"]:
        e = {"name": T(g["name"]), "last_id": g["last_id"], "pending": g["pending"],
             "consumers": [dict(c, name=T(c["name"])) for c in g["consumers"]]}
        if any("entriesRead" in x for x in t.get("groups") or []) and g["entries_read"] is not None:
            e["entries_read"] = g["entries_read"]
        ours_groups.append(e)
    groups.sort(key=lambda g: g["name"])
    ours_groups.sort(key=lambda g: g["name"])
    tally_eq.append(("%s consumer groups" % key, groups, ours_groups))
    return tally_eq


def cmd_hdt(args, tally):
    exp_path, ours_path, insp_path = args[:3]
    subset = "--subset" in args
    expected = json.load(open(exp_path, encoding="utf-8"), object_pairs_hook=_pairs_hook)
    insp = json.load(open(insp_path))
    recs = load_ours(ours_path, tally)
    ours = {}
    for o in recs:
        ours.setdefault((o["db"], T(B(o["key"]))), []).append(o)
    exp_keys = {}
    aux = {}
    funcs = []
    for t in expected:
        if t["type"] == "aux":
            aux[t["key"]] = t["value"]
        elif t["type"] == "functions":
            funcs.append(function_name(t["functionsLua"]))
        else:
            k = (t["db"], t["key"])
            tally.ok(k not in exp_keys, "expected file lists %r twice" % (k,))
            exp_keys[k] = t
    # Aux fields and function libraries: our json prints keys only, so they
    # are compared with what inspect found.
    if aux or not subset:
        tally.eq("aux fields (theirs vs inspect)", aux, insp["aux"] if aux else {})
    tally.eq("function libraries (theirs vs inspect)", sorted(funcs), sorted(insp["functions"]))
    if subset:
        missing = [k for k in exp_keys if k not in ours]
        tally.ok(not missing, "keys in the expected file but not in ours: %s" % short(missing))
    else:
        tally.keys("keys", exp_keys, ours)
    for k, t in exp_keys.items():
        if k not in ours:
            continue
        tally.ok(len(ours[k]) == 1, "key %r printed %d times" % (k, len(ours[k])))
        o = ours[k][0]
        key = "key %r" % (k[1],)
        if not tally.eq(key + " type", t["type"], o["type"]):
            continue
        # "size" (their memory estimate) has no counterpart in our format.
        if t["type"] == "stream":
            want = HDT_STREAM_VERSIONS.get(t.get("version"), "stream2" if t.get("isV2") else None)
            if want:
                tally.eq(key + " encoding", want, o["encoding"])
        elif (t["type"], t["encoding"]) in HDT_ENCODINGS:
            tally.ok(o["encoding"] in HDT_ENCODINGS[(t["type"], t["encoding"])],
                     "%s encoding: theirs %r, ours %r" % (key, t["encoding"], o["encoding"]))
        exp_ms = iso_to_ms(t["expiration"]) if t.get("expiration") else None
        tally.eq(key + " expiry (ms)", exp_ms, o.get("expire_ms"))
        v = o["value"]
        ty = t["type"]
        if ty == "string":
            tally.eq(key + " value", t["value"], T(B(v)))
        elif ty == "list":
            tally.eq(key + " list", t["values"], [T(B(x)) for x in v])
        elif ty == "set":
            tally.eq(key + " set members", sorted(t["members"]), sorted(T(B(x)) for x in v))
        elif ty == "zset":
            theirs = [(e["member"], float(e["score"])) for e in t["entries"]]
            got = [(T(B(m)), score(s)) for m, s in v]
            tally.eq(key + " zset (member, score)", sorted(theirs), sorted(got))
        elif ty == "hash":
            got = [(T(B(f)), T(B(x))) for f, x in v.pairs]
            tally.eq(key + " hash", sorted(t["hash"].items()), sorted(got))
            # Their "expire" lists every field, 0 meaning none; ours lists
            # only the fields that have a TTL.
            theirs_ttl = {f: ms for f, ms in (t.get("expire") or {}).items() if ms}
            fe = o.get("field_expires")
            got_ttl = {T(B(f)): ms for f, ms in fe.pairs} if fe else {}
            tally.eq(key + " field expirations", theirs_ttl, got_ttl)
        elif ty == "stream":
            for what, e, a in hdt_stream(t, v, key):
                tally.eq(what, e, a)


# ---- HDT3213/rdb cases/*.aof: the same data as Redis commands -------------------------


def parse_resp_commands(data):
    cmds, i = [], 0
    while i < len(data):
        if data[i:i + 1] != b"*":
            raise ValueError("not a RESP array at byte %d" % i)
        j = data.index(b"\r\n", i)
        n, i = int(data[i + 1:j]), j + 2
        args = []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            ln, i = int(data[i + 1:j]), j + 2
            args.append(data[i:i + ln])
            i += ln + 2
        cmds.append(args)
    return cmds


def cmd_aof(args, tally):
    """aof EXPECTED OURS [--subset]: replays the commands (the subset of
    Redis commands HDT3213/rdb writes) into a model of the keyspace and
    compares that, byte for byte, with ours."""
    exp_path, ours_path = args[:2]
    subset = "--subset" in args
    model, db = {}, 0
    for c in parse_resp_commands(open(exp_path, "rb").read()):
        name, a = c[0].upper(), c[1:]
        key = (db, a[0]) if a else None
        if name == b"SELECT":
            db = int(a[0])
        elif name == b"SET":
            model[key] = {"type": "string", "value": a[1], "expire_ms": None, "field_expires": {}}
        elif name in (b"HMSET", b"HSET"):
            m = model.setdefault(key, {"type": "hash", "value": {}, "expire_ms": None, "field_expires": {}})
            for f, v in zip(a[1::2], a[2::2]):
                m["value"][f] = v
        elif name == b"HPEXPIREAT":
            n = int(a[3])
            for f in a[4:4 + n]:
                model[key]["field_expires"][f] = int(a[1])
        elif name == b"HPERSIST":
            for f in a[3:3 + int(a[2])]:
                model[key]["field_expires"].pop(f, None)
        elif name == b"RPUSH":
            model.setdefault(key, {"type": "list", "value": [], "expire_ms": None, "field_expires": {}})["value"] += a[1:]
        elif name == b"SADD":
            model.setdefault(key, {"type": "set", "value": set(), "expire_ms": None, "field_expires": {}})["value"].update(a[1:])
        elif name == b"ZADD":
            m = model.setdefault(key, {"type": "zset", "value": {}, "expire_ms": None, "field_expires": {}})
            for sc, mem in zip(a[1::2], a[2::2]):
                m["value"][mem] = exact_score(sc)
        elif name == b"PEXPIREAT":
            model[key]["expire_ms"] = int(a[1])
        else:
            tally.fail("%s: command %r not modelled here" % (exp_path, name))
    want = {}
    for k, m in model.items():
        v = m["value"]
        if m["type"] == "hash":
            v = sorted(v.items())
        elif m["type"] == "set":
            v = sorted(v)
        elif m["type"] == "zset":
            v = sorted(v.items())
        want[k] = {"type": m["type"], "value": v, "expire_ms": m["expire_ms"],
                   "field_expires": sorted(m["field_expires"].items())}
    got = {k: canon_record(o) for k, o in by_key(load_ours(ours_path, tally), tally, ours_path).items()}
    if subset:
        missing = [k for k in want if k not in got]
        tally.ok(not missing, "keys in the AOF but not in ours: %s" % short(missing))
    else:
        tally.keys("keys", want, got)
    for k in sorted(want):
        if k in got:
            tally.eq("db %d key %s" % (k[0], short(k[1], 80)), want[k], got[k])


# ---- redis/librdb test/dumps/*.json ---------------------------------------------------

MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def rdb_len_size(n):
    return 1 if n < 64 else 2 if n < 16384 else 5 if n < 2 ** 32 else 9


def module_id(name, encver):
    i = 0
    for c in name:
        i = i << 6 | MODULE_CHARSET.index(c)
    return i << 10 | encver


def librdb_load(path):
    """librdb writes fragments: `"key":value,...` (wrapped in braces here) or,
    for several databases, a list of such objects."""
    text = open(path, encoding="utf-8").read().strip()
    if not text:
        return [{}]
    if text.startswith("["):
        return json.loads(text, object_pairs_hook=_pairs_hook)
    return [json.loads("{" + text + "}", object_pairs_hook=_pairs_hook)]


def librdb_str_eq(theirs, ours_bytes):
    # librdb writes every byte >= 0x80 as \u00XX; valid UTF-8 might come as
    # text: either reading is accepted.
    try:
        if theirs.encode("latin-1") == ours_bytes:
            return True
    except UnicodeEncodeError:
        pass
    return theirs.encode("utf-8") == ours_bytes


def librdb_stream(t, v, key, tally):
    o = canon_stream(v)
    tally.eq(key + " entries", [(e["id"], list(e["items"].pairs)) for e in t["entries"]],
             [(i, [(T(f), T(x)) for f, x in fields]) for i, fields in o["entries"]])
    if "length" in t:  # stream_data_with_meta.json
        tally.eq(key + " metadata",
                 [t["length"], t["entriesAdded"], t["firstID"], t["lastID"], t["maxDelEntryID"]],
                 [o["length"], o["entries_added"], o["first_id"], o["last_id"], o["max_deleted_id"]])
    if "groups" in t:
        theirs = [{"name": g["name"], "last_id": g["lastid"], "entries_read": g["entriesRead"],
                   "pending": [(p["id"], p["sent"], p["count"]) for p in g.get("pending", [])],
                   "consumers": sorted(({"name": c["name"], "seen_time": c["seenTime"],
                                         "active_time": c["activeTime"],
                                         "pending": [p["id"] for p in c.get("pending", [])]}
                                        for c in g.get("consumers", [])), key=lambda c: c["name"])}
                  for g in t["groups"]]
        got = [dict(g, name=T(g["name"]),
                    consumers=[dict(c, name=T(c["name"])) for c in g["consumers"]])
               for g in o["groups"]]
        tally.eq(key + " consumer groups", sorted(theirs, key=lambda g: g["name"]), got)
    if "idmp" in t:
        i = t["idmp"]
        theirs = {"duration": i["duration"], "max_entries": i["maxEntries"],
                  "producers": [{"producer": p["pid"],
                                 "entries": [{"iid": e["iid"], "id": e["streamId"]}
                                             for e in p["entries"]]} for p in i["producers"]]}
        tally.eq(key + " idmp producer count", i["numProducers"], len(v["idmp"]["producers"]))
        for p in i["producers"]:
            tally.eq(key + " idmp entries of " + p["pid"], p["numEntries"], len(p["entries"]))
        got = {k: v["idmp"][k] for k in ("duration", "max_entries", "producers")}
        tally.eq(key + " idmp", theirs, got)


def cmd_librdb(args, tally):
    exp_path, ours_path, insp_path = args[:3]
    subset = "--subset" in args
    dbs = librdb_load(exp_path)
    insp = json.load(open(insp_path))
    recs = load_ours(ours_path, tally)
    our_dbs = sorted({o["db"] for o in recs})
    if len(dbs) > 1:
        # One object per database, in order.
        tally.eq("databases", len(dbs), len(our_dbs))
    for i, exp in enumerate(dbs):
        db = our_dbs[i] if i < len(our_dbs) else 0
        ours = {}
        for o in recs:
            if o["db"] == db:
                ours.setdefault(T(B(o["key"])), []).append(o)
        exp_keys = {}
        for k, t in exp.items():
            if k == "__aux__":
                tally.eq("aux fields (theirs vs inspect)", dict(t), insp["aux"])
            elif k == "__dbsize__":
                d = [x for x in insp["databases"] if x["db"] == db]
                tally.eq("db size (theirs vs inspect)", [t["size"], t["expires"]],
                         [d[0]["keys"], d[0]["expires"]] if d else None)
            elif k == "__slotinfo__":
                # Our tools only count SLOT_INFO records.
                tally.ok(insp["slot_info_records"] >= 1,
                         "expected a slot info record, inspect counted %d" % insp["slot_info_records"])
            elif k == "__func__":
                tally.eq("function libraries (theirs vs inspect)",
                         sorted(function_name(c) for c in t.values()), sorted(insp["functions"]))
            else:
                exp_keys[k] = t
        if subset:
            missing = [k for k in exp_keys if k not in ours]
            tally.ok(not missing, "db %d: keys in the expected file but not ours: %s" % (db, short(missing)))
        else:
            tally.keys("db %d keys" % db, exp_keys, ours)
        for k, t in exp_keys.items():
            if k not in ours:
                continue
            o = ours[k][0]
            tally.ok(len(ours[k]) == 1, "key %r printed %d times" % (k, len(ours[k])))
            key = "key %r" % k
            v = o["value"]
            ty = o["type"]
            if ty == "string":
                tally.ok(isinstance(t, str) and librdb_str_eq(t, B(v)),
                         "%s value: expected %s, got %s" % (key, short(t), short(B(v))))
            elif ty == "list":
                tally.ok(isinstance(t, list) and len(t) == len(v) and
                         all(librdb_str_eq(a, B(b)) for a, b in zip(t, v)),
                         "%s list: %s" % (key, "; ".join(diff(t, [T(B(x)) for x in v]))))
            elif ty == "set":
                tally.eq(key + " set members", sorted(t), sorted(T(B(x)) for x in v))
            elif ty == "zset":
                tally.eq(key + " zset (member, score)", sorted((m, float(s)) for m, s in t.pairs),
                         sorted((T(B(m)), score(s)) for m, s in v))
            elif ty == "hash":
                tally.eq(key + " hash", sorted(t.pairs), sorted((T(B(f)), T(B(x))) for f, x in v.pairs))
            elif ty == "stream":
                librdb_stream(t, v, key, tally)
            elif ty == "module":
                # "<Content of Module 'NAME'. Occupies a serialized size of N bytes>":
                # N counts the module id (RDB length) and the opcodes that follow.
                m = re.match(r"<Content of Module '(.*)'\. Occupies a serialized size of (\d+) bytes>", t)
                tally.ok(m is not None, "%s: unexpected module text %r" % (key, t))
                if m:
                    size = len(base64.b64decode(v["data"])) + rdb_len_size(module_id(v["module"], v["encver"]))
                    tally.eq(key + " module (name, serialized size)", (m.group(1), int(m.group(2))),
                             (v["module"], size))
            else:
                tally.fail("%s: type %s has no librdb counterpart here" % (key, ty))


# ---- content after a conversion ----------------------------------------------------------


def expected_after(orig, target, now, drop_expired, redis_load, listpack_zsets=False):
    """What the original's keys should look like after `convert --target
    target` (and, with redis_load, after Redis 7.0 loaded that and saved it
    again; listpack_zsets: a server with the default zset-max-listpack-*
    settings). Returns ({(db,key): canon}, field TTLs the converter drops,
    empty keys it leaves out, expired keys it leaves out)."""
    out = {}
    ttls_dropped = empty = expired = 0
    for o in orig:
        k = (o["db"], B(o["key"]))
        c = canon_record(o)
        if c["expire_ms"] is not None and c["expire_ms"] <= now and (drop_expired or redis_load):
            if drop_expired:
                expired += 1
            continue  # Redis drops expired keys when it loads a file as a master
        if c["type"] == "hash" and c["field_expires"] and (target < 12):
            # Fields whose TTL has passed are left out when the hash is rebuilt;
            # the others lose their TTL, counted in the warning.
            gone = {f for f, ms in c["field_expires"] if ms <= now}
            c["value"] = [(f, x) for f, x in c["value"] if f not in gone]
            ttls_dropped += len(c["field_expires"]) - len(gone)
            c["field_expires"] = []
        if redis_load and listpack_zsets and c["type"] == "zset" and \
                o["encoding"] in ("skiplist", "skiplist2") and len(c["value"]) <= 128 and \
                all(len(m) <= 64 for m, _ in c["value"]):
            # A small sorted set stored plain is loaded into a listpack, which
            # keeps a score of -0 as 0 (zset-max-listpack-entries 128 and
            # -value 64 by default).
            c["value"] = sorted((m, "0.0" if x == "-0.0" else x) for m, x in c["value"])
        if c["type"] in ("list", "set", "zset", "hash") and not c["value"]:
            empty += 1
            continue  # Redis skips empty keys on load; the writer leaves them out
        if c["type"] == "stream":
            s = c["value"]
            s.pop("idmp", None)  # RDB 13 only
            src = o["encoding"]
            if target <= 9 and src != "stream":
                # Type 15: no first id, max deleted id, entries added, entries read
                # or active times; our reader reports them as documented in rdb.h.
                s["first_id"] = "0-0"
                s["max_deleted_id"] = "0-0"
                s["entries_added"] = s["length"]
                for g in s["groups"]:
                    g["entries_read"] = None
            if target <= 10 and src in ("stream3", "stream4"):
                for g in s["groups"]:
                    for cons in g["consumers"]:
                        cons["active_time"] = cons["seen_time"]
            if redis_load and src == "stream":
                # Redis 7.0 loading type 15 derives what the type lacks (its
                # rdb.c: first id from the data, entries added = length, the
                # groups' entries read estimated) and saves type 19. An empty
                # stream's first id is then streamGetEdgeID's answer for no
                # entries: the highest ID.
                s["first_id"] = s["entries"][0][0] if s["entries"] else \
                    "18446744073709551615-18446744073709551615"
                for g in s["groups"]:
                    g["entries_read"] = "estimated by Redis"
        out[k] = c
    return out, ttls_dropped, empty, expired


def compare_content(tally, orig, conv, target, now=None, drop_expired=False, redis_load=False,
                    log=None, oi=None, ci=None, what="", orig_path=None, conv_path=None,
                    listpack_zsets=False):
    now = now or int(time.time() * 1000)
    want, ttls, empty, expired = expected_after(orig, target, now, drop_expired, redis_load, listpack_zsets)
    got = {}
    for k, o in by_key(conv, tally, what).items():
        got[k] = canon_record(o)
        if redis_load and o["type"] == "stream" and k in want and \
                any(g["entries_read"] == "estimated by Redis" for g in want[k]["value"]["groups"]):
            for g in got[k]["value"]["groups"]:
                g["entries_read"] = "estimated by Redis"
    tally.keys(what + "keys", want, got)
    for k in sorted(want):
        if k in got:
            tally.eq("%sdb %d key %s" % (what, k[0], short(k[1], 80)), want[k], got[k])
    if log is not None:
        m = re.search(r"warning: (\d+) hash field TTLs dropped", log)
        tally.eq(what + "hash field TTLs dropped (converter's warning vs count in the original)",
                 ttls, int(m.group(1)) if m else 0)
        m = re.search(r"(\d+) keys written for RDB %d \((\d+) rewritten, (\d+) expired and (\d+) empty left out\)"
                      % target, log)
        if tally.ok(m is not None, "%sno summary line in the converter's output: %s" % (what, short(log, 300))):
            # Counted from the start of each line: a line our JSON writer
            # broke further on still holds a key.
            written = len(keys_in_order(conv_path)) if conv_path else len(conv)
            tally.eq(what + "keys written (converter's summary vs keys in the output)", written, int(m.group(1)))
            tally.eq(what + "empty keys left out (converter vs original)", empty, int(m.group(4)))
            tally.eq(what + "expired keys left out (converter vs original)", expired, int(m.group(3)))
        if orig_path:
            idmp = sum(1 for line in open(orig_path, "rb") if b'"type":"stream"' in line and b'"idmp":{' in line)
        else:
            idmp = sum(1 for o in orig if o["type"] == "stream" and "idmp" in o["value"])
        m = re.search(r"warning: idempotency data of (\d+) streams dropped", log)
        tally.eq(what + "streams whose idempotency data was dropped", idmp, int(m.group(1)) if m else 0)
    if oi is not None and ci is not None:
        tally.eq(what + "output RDB version (inspect)", target, ci["version"])
        if target >= 7:
            want_aux = dict(oi["aux"])
            got_aux = dict(ci["aux"])
            tally.ok("rdbkeep-ver" in got_aux, what + "no rdbkeep-ver aux field in the output")
            got_aux.pop("rdbkeep-ver", None)
            tally.eq(what + "aux fields kept", want_aux, got_aux)
        else:
            tally.eq(what + "aux fields (RDB 6 has none)", {}, ci["aux"])
        log = log or ""
        if target >= 10:
            tally.eq(what + "function libraries kept", oi["functions"], ci["functions"])
        else:
            tally.eq(what + "function libraries (none below RDB 10)", [], ci["functions"])
            m = re.search(r"warning: (\d+) function libraries dropped", log)
            tally.eq(what + "function libraries dropped (warning vs inspect)", len(oi["functions"]),
                     int(m.group(1)) if m else 0)
        aux_records = sum(m["aux"] for m in oi["modules"])
        m = re.search(r"warning: (\d+) module aux records dropped", log)
        tally.eq(what + "module aux records dropped (warning vs inspect)",
                 aux_records if target < 9 else 0, int(m.group(1)) if m else 0)
        tally.eq(what + "module aux records kept (inspect)", aux_records if target >= 9 else 0,
                 sum(m["aux"] for m in ci["modules"]))


def cmd_content(args, tally):
    """content ORIG CONV --target N [--redis-load] [--drop-expired]"""
    opts = parse_opts(args[2:], {"--target": int, "--now": int}, flags={"--redis-load", "--drop-expired"})
    compare_content(tally, load_ours(args[0], tally), load_ours(args[1], tally), opts["--target"],
                    opts.get("--now"), "--drop-expired" in opts, "--redis-load" in opts,
                    what="%s: " % args[1])


def cmd_content_list(args, tally):
    """content-list LIST --target N [--redis-load] [--drop-expired] [--listpack-zsets]:
    content for each line "ORIG<TAB>CONV" of LIST."""
    opts = parse_opts(args[1:], {"--target": int, "--now": int},
                      flags={"--redis-load", "--drop-expired", "--listpack-zsets"})
    for orig, conv in read_list(args[0]):
        compare_content(tally, load_ours(orig, tally), load_ours(conv, tally), opts["--target"],
                        opts.get("--now"), "--drop-expired" in opts, "--redis-load" in opts,
                        what="%s: " % conv, listpack_zsets="--listpack-zsets" in opts)


def keys_in_order(path):
    """(db, key, type) of every key of an `rdb json` output, read from the
    start of each line only, so that a line broken further on still counts."""
    out = []
    dec = json.JSONDecoder()
    for line in open(path, "rb"):
        line = line.decode("utf-8", "surrogateescape")
        m = re.search(r'\{"db":(\d+),"key":', line)
        if not m:
            continue
        key, end = dec.raw_decode(line, m.end())
        t = re.match(r',"type":"(\w+)"', line[end:])
        out.append((int(m.group(1)), key, t.group(1) if t else None))
    return out


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def quote_like_rdb_quote(key, limit=64):
    """A key as messages show it (rdb.h, rdb_quote): printable ASCII as is
    but for quote and backslash, other bytes \\xNN, cut at 64 with "..."."""
    b = B(key)
    q = "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c for c in b[:limit])
    return q + "..." if len(b) > limit else q


def cmd_convert_matrix(args, tally):
    """convert-matrix BIN LIST WORKDIR [--targets T,...] [--drop-targets T,...]:
    for every file of LIST (one path per line) and every target version
    (default 6 to 12): rdb convert, then check the
    outcome. A target that cannot hold a key (streams below 9, module values
    below 8) must refuse the file naming the first such key and leave no
    output; otherwise the output verifies, says REDIS000N, and holds the
    original's content as the target can hold it (compare_content). Also
    --drop-expired, at 12 for every file and at every target for files with
    expired keys (or at the --drop-targets given). Leaves WORKDIR/N.tT.rdb (T = 7 to 10) and WORKDIR/N.json for the
    Redis stage of rdb_convert.sh."""
    binary, listing, work = args[:3]
    opts = parse_opts(args[3:], {"--targets": str, "--drop-targets": str})
    targets = [int(t) for t in opts.get("--targets", "6,7,8,9,10,11,12").split(",")]
    drop_targets = [int(t) for t in opts["--drop-targets"].split(",") if t] if "--drop-targets" in opts else None
    files = [l.strip() for l in open(listing) if l.strip()]

    def one(job):
        n, path = job
        t = Tally()
        convert_file(binary, work, n, path, targets, drop_targets, t)
        return t

    # Two workers: each conversion is a few short processes.
    for t in parallel(list(enumerate(files)), one):
        tally.checks += t.checks
        tally.fails += t.fails


def convert_file(binary, work, n, path, targets, drop_targets, tally):
    orig_json = os.path.join(work, "%d.json" % n)
    rc, out, err = run([binary, "rdb", "json", path])
    open(orig_json, "wb").write(out)
    orig = load_ours(orig_json, tally)
    rc, out, err = run([binary, "rdb", "inspect", "--json", path])
    oi = json.loads(out)
    order = keys_in_order(orig_json)
    now = int(time.time() * 1000)
    has_expired = any(o.get("expire_ms", now + 1) <= now for o in orig)
    for target in targets:
        for drop in (False, True):
            if drop and drop_targets is not None and target not in drop_targets:
                continue
            if drop and drop_targets is None and not (target == 12 or has_expired):
                continue
            label = "%s -> RDB %d%s: " % (path, target, " --drop-expired" if drop else "")
            outp = os.path.join(work, "%d.t%d%s.rdb" % (n, target, "d" if drop else ""))
            cmd = [binary, "rdb", "convert", "--target-version", str(target)]
            if drop:
                cmd.append("--drop-expired")
            rc, _, log = run(cmd + [path, outp])
            # The first key the target cannot hold, in file order.
            refuse = next(((db, k, t) for db, k, t in order
                           if (t == "stream" and target < 9) or (t == "module" and target < 8)), None)
            leftovers = [f for f in os.listdir(work) if f.startswith(os.path.basename(outp) + ".tmp")]
            tally.eq(label + "temporary files left", [], leftovers)
            if refuse:
                tally.eq(label + "exit status (a key the target cannot hold)", 1, rc)
                reason = "streams need RDB 9" if refuse[2] == "stream" else "module values need RDB 8"
                tally.ok('key "%s" (%s' % (quote_like_rdb_quote(refuse[1]), refuse[2]) in log and reason in log,
                         "%smessage should name key %r and say '%s': %s" % (label, refuse[1], reason, short(log, 300)))
                tally.ok(not os.path.exists(outp), label + "an output file exists after a refusal")
                continue
            if not tally.eq(label + "exit status", 0, rc):
                print("  converter said: %s" % short(log, 400), file=sys.stderr)
                continue
            with open(outp, "rb") as f:
                tally.eq(label + "header", ("REDIS%04d" % target).encode(), f.read(9))
            rc, _, verr = run([binary, "rdb", "verify", "-q", outp])
            tally.ok(rc == 0, "%soutput does not verify: %s" % (label, short(verr, 300)))
            rc, ciout, _ = run([binary, "rdb", "inspect", "--json", outp])
            ci = json.loads(ciout)
            conv_json = outp + ".json"
            rc, jout, _ = run([binary, "rdb", "json", outp])
            open(conv_json, "wb").write(jout)
            compare_content(tally, orig, load_ours(conv_json, tally), target, now, drop, False,
                            log, oi, ci, label, orig_json, conv_json)
            if drop or target < 7 or target > 10:
                os.unlink(outp)  # 7 to 10 are loaded by Redis 7.0 in rdb_convert.sh


def parse_opts(args, spec, flags=()):
    out = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a in flags:
            out[a] = True
            i += 1
        elif a in spec:
            out[a] = spec[a](args[i + 1])
            i += 2
        else:
            raise SystemExit("rdbjson.py: unknown option %s" % a)
    return out


# ---- damaged inputs and checksums ------------------------------------------------------


def run_verify(binary, data, timeout=20):
    """(exit status, stderr) of `binary rdb verify -q -` fed data; status
    None means it did not finish in time, negative means a signal."""
    try:
        p = subprocess.run([binary, "rdb", "verify", "-q", "-"], input=data,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "did not finish in %ds" % timeout
    return p.returncode, p.stderr.decode("utf-8", "replace").strip()


def how(rc):
    return "hang" if rc is None else "killed by signal %d" % -rc if rc < 0 else "exit %d" % rc


def parallel(jobs, fn):
    # Two workers: the suite runs on two cores and each job is a process.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        return list(ex.map(fn, jobs))


def read_list(path):
    return [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]


def cmd_truncate(args, tally):
    """truncate BIN LIST: LIST lines are FILE, END (where the RDB ends: bytes
    after it are not RDB), and "all" or a number of cuts to sample."""
    binary, listing = args[0], args[1]
    rnd = random.Random(1)
    jobs = []
    for path, end, mode in read_list(listing):
        data = open(path, "rb").read()
        cuts = list(range(int(end)))
        if mode != "all" and len(cuts) > int(mode):
            # Every cut in the header and near the end, a random sample between.
            n = int(mode)
            q = n // 4
            cuts = sorted(set(cuts[:q] + cuts[-q:] + rnd.sample(cuts[q:-q], n - 2 * q)))
        jobs += [(path, data, n) for n in cuts]
    results = parallel(jobs, lambda j: run_verify(binary, j[1][:j[2]]))
    for (path, data, n), (rc, msg) in zip(jobs, results):
        tally.ok(rc == 1 and "offset" in msg,
                 "%s cut to %d of %d bytes: %s, stderr: %s" % (path, n, len(data), how(rc), short(msg, 200)))


def cmd_flip(args, tally):
    """flip BIN LIST COUNT: LIST lines are FILE and END; COUNT random bytes
    before END of each file are changed one at a time. The files have a
    CRC64, so every change must be found."""
    binary, listing, count = args[0], args[1], int(args[2])
    rnd = random.Random(2)
    jobs = []
    for path, end in read_list(listing):
        data = open(path, "rb").read()
        positions = rnd.sample(range(int(end)), min(count, int(end)))
        for pos in positions:
            d = bytearray(data)
            d[pos] ^= rnd.randrange(1, 256)
            jobs.append((path, pos, data[pos], d[pos], bytes(d)))
    results = parallel(jobs, lambda j: run_verify(binary, j[4]))
    for (path, pos, old, new, _), (rc, msg) in zip(jobs, results):
        tally.ok(rc == 1 and "offset" in msg,
                 "%s byte %d changed from %02x to %02x: %s, stderr: %s" %
                 (path, pos, old, new, how(rc), short(msg, 200)))


def crc64_table():
    # CRC-64/Jones as Redis uses it: reflected, polynomial 0xad93d23594c935a9
    # (0x95ac9329ac4bc9b5 reflected), init 0, no final xor.
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x95AC9329AC4BC9B5 if c & 1 else c >> 1
        table.append(c)
    return table


def crc64(data, table=crc64_table()):
    c = 0
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c


def cmd_crc(args, tally):
    """crc INSPECT...: our CRC64 over each file against inspect's crc64 and
    the stored checksum."""
    tally.eq("CRC64 check value of '123456789'", 0xE9C6D914C4B8D9CA, crc64(b"123456789"))
    for path in args:
        insp = json.load(open(path))
        data = open(insp["file"], "rb").read()
        size = insp["size"]
        if insp["checksum"] == "absent":
            tally.eq("%s: inspect's crc64 for a file without checksum" % insp["file"],
                     "0000000000000000", insp["crc64"])
            continue
        body = data[:size - 8]
        stored = int.from_bytes(data[size - 8:size], "little")
        ours = crc64(body)
        tally.eq("%s: CRC64 (computed here vs inspect)" % insp["file"], "%016x" % ours, insp["crc64"])
        if insp["checksum"] == "ok":
            tally.eq("%s: stored CRC64 vs computed" % insp["file"], "%016x" % ours, "%016x" % stored)
        else:
            tally.eq("%s: inspect says %s" % (insp["file"], insp["checksum"]), ("disabled", 0),
                     (insp["checksum"], stored))


# ---- crafted files ---------------------------------------------------------------------------


def rdb_len_bytes(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | n >> 8, n & 0xFF])
    if n < 2 ** 32:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def rdb_str(b):
    return rdb_len_bytes(len(b)) + b


def lp_entry(x):
    """One listpack entry (strings shorter than 64 bytes, integers)."""
    if isinstance(x, int):
        body = bytes([x]) if 0 <= x < 128 else b"\xf4" + x.to_bytes(8, "little", signed=True)
    else:
        assert len(x) < 64
        body = bytes([0x80 | len(x)]) + x
    assert len(body) <= 127
    return body + bytes([len(body)])


def listpack(items):
    entries = b"".join(lp_entry(x) for x in items)
    return (6 + len(entries) + 1).to_bytes(4, "little") + len(items).to_bytes(2, "little") + entries + b"\xff"


def cmd_craft_hfe(args):
    """craft-hfe OUT NOW_MS: an RDB 12 file with hash field TTLs in the past
    and in the future (types 24 and 25, as Redis 7.4 writes them), made here
    from the format's definition. Prints what it holds as JSON: the hashes'
    fields with their TTLs (null: none)."""
    out, now = args[0], int(args[1])
    past, future = now - 3600 * 1000, now + 30 * 86400 * 1000
    body = b"REDIS0012" + b"\xfa" + rdb_str(b"redis-ver") + rdb_str(b"7.4.0") + b"\xfe\x00"
    held = {}
    # Type 24: minExpire, then (ttl relative to it plus one, 0: none; field; value).
    fields = [(b"f-past", b"v1", past), (b"f-future", b"v2", future), (b"f-none", b"v3", None),
              (b"f-past2", b"v4", past + 5)]
    minimum = min(t for _, _, t in fields if t is not None)
    body += b"\x18" + rdb_str(b"hfe:meta") + minimum.to_bytes(8, "little") + rdb_len_bytes(len(fields))
    for f, v, t in fields:
        body += rdb_len_bytes(0 if t is None else t - minimum + 1) + rdb_str(f) + rdb_str(v)
    held["hfe:meta"] = fields
    # Type 25: minExpire, then a listpack of (field, value, ttl or 0), the
    # ones with a TTL first by expiry.
    fields = [(b"f-past", b"v1", past), (b"f-future", b"v2", future), (b"f-none", b"v3", None)]
    lp = listpack([x for f, v, t in fields for x in (f, v, t or 0)])
    body += b"\x19" + rdb_str(b"hfe:lp") + past.to_bytes(8, "little") + rdb_str(lp)
    held["hfe:lp"] = fields
    # Every field gone already.
    fields = [(b"a", b"1", past), (b"b", b"2", past + 1)]
    body += b"\x18" + rdb_str(b"hfe:all-past") + past.to_bytes(8, "little") + rdb_len_bytes(2)
    for f, v, t in fields:
        body += rdb_len_bytes(t - past + 1) + rdb_str(f) + rdb_str(v)
    held["hfe:all-past"] = fields
    body += b"\x00" + rdb_str(b"s") + rdb_str(b"plain")
    body += b"\xff"
    body += crc64(body).to_bytes(8, "little")
    open(out, "wb").write(body)
    print(json.dumps({k: [[f.decode(), v.decode(), t] for f, v, t in fl] for k, fl in held.items()}))


def cmd_hfe_check(args, tally):
    """hfe-check HELD OURS MODE NOW [LOG]: `rdb json` of a crafted file (MODE
    "as-is"), or of its conversion ("no-ttl": below 12, expired fields gone
    and the rest without TTL; "drop": --drop-expired at 12, expired fields
    gone, the rest with their TTL), against what craft-hfe put in it."""
    held = json.load(open(args[0]))
    mode, now = args[2], int(args[3])
    got = {T(B(o["key"])): canon_record(o) for o in load_ours(args[1], tally)}
    want = {"s": {"type": "string", "value": b"plain", "expire_ms": None, "field_expires": []}}
    for key, fields in held.items():
        keep = [(f, v, t) for f, v, t in fields if mode == "as-is" or t is None or t > now]
        if not keep:
            continue
        want[key] = {"type": "hash", "value": sorted((f.encode(), v.encode()) for f, v, t in keep),
                     "expire_ms": None,
                     "field_expires": [] if mode == "no-ttl" else
                     sorted((f.encode(), t) for f, v, t in keep if t is not None)}
    tally.keys("keys (%s)" % mode, want, got)
    for k in sorted(want):
        if k in got:
            tally.eq("key %s (%s)" % (k, mode), want[k], got[k])
    if len(args) > 4:
        # The converter's warning counts the TTLs of the fields it kept.
        log = open(args[4], encoding="utf-8", errors="replace").read()
        m = re.search(r"warning: (\d+) hash field TTLs dropped", log)
        ttls = sum(1 for fields in held.values() for f, v, t in fields if t is not None and t > now)
        tally.eq("hash field TTLs dropped (warning)", ttls if mode == "no-ttl" else 0,
                 int(m.group(1)) if m else 0)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "craft-hfe":  # makes a file, checks nothing
        return cmd_craft_hfe(args)
    tally = Tally()
    {"hdt": cmd_hdt, "librdb": cmd_librdb, "counts": cmd_counts, "content": cmd_content,
     "truncate": cmd_truncate, "flip": cmd_flip, "crc": cmd_crc,
     "aof": cmd_aof, "convert-matrix": cmd_convert_matrix, "content-list": cmd_content_list,
     "hfe-check": cmd_hfe_check, "counts-list": cmd_counts_list}[cmd](args, tally)
    tally.report()


if __name__ == "__main__":
    main()
