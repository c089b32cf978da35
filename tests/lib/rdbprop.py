#!/usr/bin/python3
"""rdbprop.py: random datasets in a live redis-server 7.0, and the server as
the oracle for what an RDB file of them holds (tests/integration/rdb_property.sh).

  generate PORT SEED
      Random thresholds (CONFIG SET) and a random dataset covering every type
      and encoding Redis 7.0 writes: strings (int, embstr, raw, compressible,
      binary), lists (one and many quicklist nodes, compressed nodes, plain
      nodes for big elements), sets (intset, hashtable), sorted sets
      (listpack, skiplist; integral, fractional, negative, infinite scores),
      hashes (listpack, hashtable), streams (several nodes, deleted entries,
      trimmed, consumer groups with pending entries, consumers with and
      without them, empty streams); binary keys and values (NUL bytes,
      invalid UTF-8); TTLs; databases 0 to 15. Written over a raw RESP
      connection. Prints a summary of what it made.
  expiring PORT SEED MS
      Adds keys that expire within MS milliseconds from now; prints when
      they all have (unix ms).
  truth PORT OUT
      Reads every key of every database back from the server (SCAN, TYPE,
      OBJECT ENCODING, PEXPIRETIME, GET, LRANGE, SMEMBERS, ZRANGE WITHSCORES,
      HGETALL, XRANGE, XINFO STREAM FULL) into OUT.
  check TRUTH OURS SEED [--coverage]
      `rdb json` of the server's dump against the truth, key by key; and
      the generator's coverage (every encoding present).
  del-streams PORT
      Deletes every stream key (for targets below RDB 9).
  sleep-until MS
      Sleeps until the unix time MS (milliseconds).

Output of check: "FAIL: ..." lines on stderr, "checks N fails M" on stdout.
"""
import os
import pickle
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdbjson  # noqa: E402

# ---- a raw RESP client ------------------------------------------------------------------


class RedisError(Exception):
    pass


def enc(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, float):
        return repr(a).encode()  # shortest text that reads back as the same double
    return str(a).encode()


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")

    def _pack(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = enc(a)
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _read(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise RedisError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest
        if t == b"-":
            return RedisError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("bad reply %r" % line)

    def call(self, *args):
        self.sock.sendall(self._pack(args))
        r = self._read()
        if isinstance(r, RedisError):
            raise RedisError("%s: %s" % (short_cmd(args), r))
        return r

    def pipeline(self, cmds, batch=2000):
        replies = []
        for i in range(0, len(cmds), batch):
            part = cmds[i:i + batch]
            self.sock.sendall(b"".join(self._pack(c) for c in part))
            for c in part:
                r = self._read()
                if isinstance(r, RedisError):
                    raise RedisError("%s: %s" % (short_cmd(c), r))
                replies.append(r)
        return replies


def short_cmd(args):
    return rdbjson.short(b" ".join(enc(a) for a in args), 120)


# ---- random data ------------------------------------------------------------------------


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.keys = set()
        self.made = {}

    def blob(self, lo=0, hi=40):
        """Random bytes: NULs, invalid UTF-8, valid multi-byte UTF-8."""
        r = self.r
        n = r.randint(lo, hi)
        kind = r.random()
        if kind < 0.3:
            return r.randbytes(n)
        if kind < 0.5:
            return "".join(r.choice("aé€𐀏z\"\\\x00\n") for _ in range(n)).encode()[:max(n, 1)]
        return bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz0123456789:_-") for _ in range(n))

    def element(self, big=False):
        r = self.r
        x = r.random()
        if x < 0.25:
            return str(r.choice([0, -1, 1, 7, 127, -128, 255, 32767, -32768, 8388607, 2 ** 31 - 1,
                                 -2 ** 31, 2 ** 63 - 1, -2 ** 63, r.randint(-2 ** 63, 2 ** 63 - 1),
                                 r.randint(-1000, 1000)])).encode()
        if x < 0.3:
            return repr(r.uniform(-1e6, 1e6)).encode()
        if big and x > 0.93:
            # Bigger than a low quicklist packed threshold: a plain node.
            return (self.blob(1, 8) * r.randint(200, 2000))[:r.randint(1200, 20000)]
        if x > 0.97:
            return self.blob(65, 300)  # past the listpack value limits
        return self.blob(0, 24)

    def key(self, prefix):
        while True:
            k = prefix.encode() + b":" + self.blob(0, 12)
            if k not in self.keys:
                self.keys.add(k)
                return k

    def note(self, what):
        self.made[what] = self.made.get(what, 0) + 1


def score(r):
    x = r.random()
    if x < 0.35:
        return float(r.randint(-10 ** 6, 10 ** 6))
    if x < 0.7:
        return r.uniform(-1e4, 1e4)
    return r.choice([float("inf"), float("-inf"), 0.0, -0.0, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2.0,
                     0.1, 1 / 3, -2.5e-10, 1e-300])


def make_string(g, key):
    r = g.r
    x = r.random()
    if x < 0.2:
        v = str(r.randint(-2 ** 63, 2 ** 63 - 1) if r.random() < 0.5 else r.randint(-10000, 10000)).encode()
        g.note("string/int-text")
    elif x < 0.45:
        v = g.blob(0, 44)
    elif x < 0.6:
        v = g.blob(45, 3000)
    elif x < 0.85:
        v = (g.blob(1, 16) * r.randint(3, 4000))[:r.randint(21, 60000)]  # compressible: LZF
        g.note("string/compressible")
    else:
        v = r.randbytes(r.randint(21, 5000))
    return [[b"SET", key, v]]


def make_list(g, key, size):
    r = g.r
    elems = [g.element(big=True) for _ in range(size)]
    cmds = []
    for i in range(0, len(elems), 100):
        cmds.append([r.choice([b"RPUSH", b"LPUSH"]), key] + elems[i:i + 100])
    if size > 3 and r.random() < 0.3:
        cmds.append([b"LINSERT", key, b"BEFORE", elems[r.randrange(size)], g.element()])
        cmds.append([b"LREM", key, 1, elems[r.randrange(size)]])
    return cmds


def make_set(g, key, size, ints):
    r = g.r
    if ints:
        members = [str(r.randint(-2 ** 63, 2 ** 63 - 1) if r.random() < 0.2 else r.randint(-70000, 70000)).encode()
                   for _ in range(size)]
    else:
        members = [g.element() for _ in range(size)]
    cmds = [[b"SADD", key] + members[i:i + 200] for i in range(0, len(members), 200)]
    if size > 2 and r.random() < 0.3:
        cmds.append([b"SREM", key, members[0]])
    return cmds


def make_zset(g, key, size):
    r = g.r
    cmds = []
    args = []
    for _ in range(size):
        args += [score(r), g.element()]
    for i in range(0, len(args), 200):
        cmds.append([b"ZADD", key] + args[i:i + 200])
    if r.random() < 0.2:
        cmds.append([b"ZINCRBY", key, r.uniform(-5, 5), args[1]])
    return cmds


def make_hash(g, key, size):
    r = g.r
    args = []
    for _ in range(size):
        args += [g.element(), g.element()]
    cmds = [[b"HSET", key] + args[i:i + 200] for i in range(0, len(args), 200)]
    if size > 2 and r.random() < 0.3:
        cmds.append([b"HDEL", key, args[0]])
    return cmds


def make_stream(g, key, size):
    """The XADDs of a stream (stream_extras does the rest once they ran)."""
    r = g.r
    fieldsets = [[g.blob(1, 8) for _ in range(r.randint(1, 4))] for _ in range(3)]
    # IDs from the seed, not the clock, so that a seed makes the same
    # stream again: "ms-*" (Redis picks the sequence) and full IDs, some
    # with big sequence numbers.
    ms, seq = 1_700_000_000_000 + r.randint(0, 10 ** 9), -1
    steps = []
    for _ in range(size):
        fields = r.choice(fieldsets)
        if r.random() < 0.2:
            fields = [g.blob(0, 8) for _ in range(r.randint(1, 5))]  # other fields than the master entry's
        if r.random() < 0.05 and fields:
            fields = fields + [fields[0]]  # a field twice in one entry
        args = []
        for f in fields:
            args += [f, g.element()]
        step = r.choice([0, 0, 1, r.randint(1, 10 ** 6)])
        if r.random() < 0.5:
            seq = seq + 1 if step == 0 else 0
            ms += step
            steps.append([b"XADD", key, b"%d-*" % ms] + args)
        else:
            seq = seq + r.randint(1, 1000) if step == 0 else r.choice([0, r.randint(0, 2 ** 40)])
            ms += step
            steps.append([b"XADD", key, b"%d-%d" % (ms, seq)] + args)
    return steps


def stream_extras(g, red, key):
    """Deletions, trims, consumer groups, pending entries: after the XADDs."""
    r = g.r
    entries = red.call(b"XRANGE", key, b"-", b"+")
    ids = [e[0] for e in entries]
    if ids and r.random() < 0.5:
        for i in r.sample(ids, r.randint(1, max(1, len(ids) // 4))):
            red.call(b"XDEL", key, i)
        g.note("stream/xdel")
    if ids and r.random() < 0.25:
        red.call(b"XTRIM", key, b"MAXLEN", r.randint(0, len(ids)))
        g.note("stream/xtrim")
    for gi in range(r.choice([0, 1, 1, 2, 3])):
        gname = b"g%d:" % gi + g.blob(0, 6)
        start = r.choice([b"0", b"$", r.choice(ids) if ids else b"0"])
        try:
            red.call(b"XGROUP", b"CREATE", key, gname, start)
        except RedisError:
            continue  # a name drawn twice
        g.note("stream/group")
        consumers = [b"c%d:" % ci + g.blob(0, 6) for ci in range(r.randint(0, 3))]
        for c in consumers:
            if r.random() < 0.25:
                red.call(b"XGROUP", b"CREATECONSUMER", key, gname, c)  # no pending entries
                g.note("stream/consumer-without-pel")
                continue
            got = red.call(b"XREADGROUP", b"GROUP", gname, c, b"COUNT", r.randint(1, 20),
                           b"STREAMS", key, b">")
            pending = [e[0] for e in got[0][1]] if got else []
            if pending and r.random() < 0.4:
                red.call(b"XACK", key, gname, *r.sample(pending, r.randint(1, len(pending))))
            if pending and len(consumers) > 1 and r.random() < 0.4:
                red.call(b"XCLAIM", key, gname, r.choice(consumers), 0, r.choice(pending))
                g.note("stream/xclaim")
        if consumers:
            g.note("stream/consumers")


CONFIGS = {
    # Thresholds that decide encodings and quicklist node sizes; drawn per
    # phase so one dataset holds both encodings of a type.
    b"list-max-listpack-size": [b"-2", b"-1", b"4", b"16", b"128"],
    b"list-compress-depth": [b"0", b"0", b"1", b"2"],
    b"set-max-intset-entries": [b"512", b"16", b"4"],
    b"zset-max-listpack-entries": [b"128", b"8"],
    b"zset-max-listpack-value": [b"64", b"16"],
    b"hash-max-listpack-entries": [b"128", b"512", b"8"],
    b"hash-max-listpack-value": [b"64", b"16"],
    b"stream-node-max-entries": [b"100", b"5", b"2"],
    b"stream-node-max-bytes": [b"4096", b"128"],
    b"rdbcompression": [b"yes", b"yes", b"no"],
}


def cmd_sleep_until(args):
    time.sleep(max(0, int(args[0]) / 1000 - time.time()))


def cmd_generate(args):
    port, seed = int(args[0]), int(args[1])
    g = Gen(seed)
    r = g.r
    red = Redis(port)
    now = int(time.time() * 1000)
    for phase in range(3):
        for name, values in CONFIGS.items():
            red.call(b"CONFIG", b"SET", name, r.choice(values))
        # Elements above this size go to plain quicklist nodes; phase 0 makes
        # sure there are some, phase 1 that there are compressed nodes.
        red.call(b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD",
                 b"200" if phase == 0 else r.choice([b"1073741824", b"1000", b"200"]))
        if phase == 1:
            red.call(b"CONFIG", b"SET", b"list-compress-depth", b"1")
            red.call(b"CONFIG", b"SET", b"list-max-listpack-size", b"4")
        by_db = {}
        for i in range(r.randint(60, 140)):
            # The first keys of phase 0 make sure every type and size is there.
            kind = ["string", "list", "list-big", "set-int", "set-int-big", "set", "zset", "zset-big",
                    "hash", "hash-big", "stream", "stream-big"][i] if phase == 0 and i < 12 else \
                r.choice(["string"] * 4 + ["list", "list-big", "set-int", "set-int-big", "set", "zset",
                                           "zset-big", "hash", "hash-big", "stream", "stream-big"])
            db = 0 if phase == 0 and i < 12 else r.randrange(16)
            key = g.key(kind)
            big = kind.endswith("-big")
            size = r.randint(130, 700) if big else r.randint(1, 10)
            if kind == "string":
                cmds = make_string(g, key)
            elif kind.startswith("list"):
                cmds = make_list(g, key, size * (3 if big else 1))
            elif kind.startswith("set-int"):
                cmds = make_set(g, key, size, True)
            elif kind == "set":
                cmds = make_set(g, key, size, False)
            elif kind.startswith("zset"):
                cmds = make_zset(g, key, size)
            elif kind.startswith("hash"):
                cmds = make_hash(g, key, size)
            else:
                cmds = make_stream(g, key, size // 2 if big else size)
            if r.random() < 0.25:
                cmds.append([b"PEXPIREAT", key, now + r.randint(3600 * 1000, 30 * 86400 * 1000)])
                g.note("ttl")
            by_db.setdefault(db, []).append((key, kind, cmds))
        for db, items in sorted(by_db.items()):
            red.call(b"SELECT", db)
            plain = [c for key, kind, cmds in items if not kind.startswith("stream") for c in cmds]
            red.pipeline(plain)
            for key, kind, cmds in items:
                if kind.startswith("stream"):
                    for c in cmds:
                        red.call(*c)
                    stream_extras(g, red, key)
    # Fixed keys, so that every dataset has them: binary key and value, and
    # a TTL.
    red.call(b"SELECT", 0)
    red.call(b"SET", b"bin:\x00\xff\xfe\xc3(\xed\xa0\x80", b"v\x00\x80\xc0\xaf\xf4\x90\x80\x80\xef\xbf\xbe")
    red.call(b"SET", b"ttl", b"x", b"PXAT", now + 86400 * 1000 + 1)
    # An empty stream: Redis keeps it.
    red.call(b"SELECT", 3)
    k = g.key("stream-empty")
    i = red.call(b"XADD", k, b"*", b"f", b"v")
    red.call(b"XDEL", k, i)
    g.note("stream/empty")
    total = sum(red.call(b"SELECT", db) and red.call(b"DBSIZE") for db in range(16))
    print("seed %d: %d keys; %s" % (seed, total, ", ".join("%s %d" % kv for kv in sorted(g.made.items()))),
          file=sys.stderr)


def cmd_expiring(args):
    """Prints the time (unix ms) by which they have all expired."""
    port, seed, ms = int(args[0]), int(args[1]), int(args[2])
    g = Gen(seed * 7919 + 1)
    red = Redis(port)
    red.call(b"SELECT", g.r.randrange(16))
    at = int(time.time() * 1000) + ms
    for i in range(g.r.randint(3, 12)):
        key = g.key("expiring")
        cmds = [make_string, lambda g, k: make_hash(g, k, 5), lambda g, k: make_list(g, k, 5)][i % 3](g, key)
        cmds.append([b"PEXPIREAT", key, at - g.r.randint(0, 500)])
        red.pipeline(cmds)
    print(at)


def cmd_del_streams(args):
    red = Redis(int(args[0]))
    n = 0
    for db in range(16):
        red.call(b"SELECT", db)
        for key in scan(red):
            if red.call(b"TYPE", key) == b"stream":
                n += red.call(b"DEL", key)
    print("deleted %d streams" % n, file=sys.stderr)


# ---- the oracle ---------------------------------------------------------------------------


def scan(red):
    cursor = b"0"
    while True:
        cursor, keys = red.call(b"SCAN", cursor, b"COUNT", 1000)
        yield from keys
        if cursor == b"0":
            return


def pairs(flat):
    return list(zip(flat[0::2], flat[1::2]))


def xinfo_dict(flat):
    return {k.decode(): v for k, v in pairs(flat)}


def sid(b):
    return b.decode()


def rdb_len(d, i):
    b = d[i]
    if b >> 6 == 0:
        return b & 0x3F, i + 1
    if b >> 6 == 1:
        return (b & 0x3F) << 8 | d[i + 1], i + 2
    if b == 0x80:
        return int.from_bytes(d[i + 1:i + 5], "big"), i + 5
    if b == 0x81:
        return int.from_bytes(d[i + 1:i + 9], "big"), i + 9
    raise ValueError("not a length at %d" % i)


def quicklist_nodes(payload):
    """(plain nodes, LZF-compressed nodes) of a DUMP payload of type 18
    (quicklist 2: node count, then per node its container, 1 = plain, and
    a string, LZF-encoded when the node is compressed)."""
    if payload[0] != 18:
        raise ValueError("DUMP of a list is type %d, not 18" % payload[0])
    n, i = rdb_len(payload, 1)
    plain = lzf = 0
    for _ in range(n):
        container, i = rdb_len(payload, i)
        plain += container == 1
        if payload[i] == 0xC3:  # an LZF string: compressed length, raw length, data
            lzf += 1
            clen, i = rdb_len(payload, i + 1)
            _, i = rdb_len(payload, i)
            i += clen
        else:
            ln, i = rdb_len(payload, i)
            i += ln
    return plain, lzf


def stream_truth(red, key):
    entries = [(sid(i), tuple(pairs(f))) for i, f in red.call(b"XRANGE", key, b"-", b"+")]
    info = xinfo_dict(red.call(b"XINFO", b"STREAM", key, b"FULL", b"COUNT", 0))
    groups = []
    for gflat in info["groups"]:
        gi = xinfo_dict(gflat)
        consumers = []
        for cflat in gi["consumers"]:
            ci = xinfo_dict(cflat)
            consumers.append({"name": ci["name"], "seen_time": ci["seen-time"],
                              # Redis 7.0 keeps no active time; type 19 has none
                              # and readers take the seen time (rdb.h).
                              "active_time": ci["seen-time"],
                              "pending": [sid(p[0]) for p in ci["pending"]]})
        groups.append({"name": gi["name"], "last_id": sid(gi["last-delivered-id"]),
                       "entries_read": gi["entries-read"],
                       "pending": [(sid(p[0]), p[2], p[3]) for p in gi["pending"]],
                       "consumers": sorted(consumers, key=lambda c: c["name"])})
    return {"entries": entries, "length": info["length"], "last_id": sid(info["last-generated-id"]),
            "first_id": sid(info["recorded-first-entry-id"]),
            "max_deleted_id": sid(info["max-deleted-entry-id"]), "entries_added": info["entries-added"],
            "groups": sorted(groups, key=lambda g: g["name"])}, info["radix-tree-keys"]


def cmd_truth(args):
    red = Redis(int(args[0]))
    truth = {}
    for db in range(16):
        red.call(b"SELECT", db)
        for key in scan(red):
            t = red.call(b"TYPE", key).decode()
            rec = {"type": t, "encoding": red.call(b"OBJECT", b"ENCODING", key).decode(),
                   "expire_ms": None, "field_expires": []}
            pt = red.call(b"PEXPIRETIME", key)
            if pt >= 0:
                rec["expire_ms"] = pt
            if t == "string":
                rec["value"] = red.call(b"GET", key)
            elif t == "list":
                rec["value"] = red.call(b"LRANGE", key, 0, -1)
                info = red.call(b"DEBUG", b"OBJECT", key).decode()
                rec["nodes"] = int(info.split("ql_nodes:")[1].split()[0])
                rec["plain"], rec["lzf"] = quicklist_nodes(red.call(b"DUMP", key))
            elif t == "set":
                rec["value"] = sorted(red.call(b"SMEMBERS", key))
            elif t == "zset":
                rec["value"] = sorted((m, rdbjson.exact_score(s.decode()))
                                      for m, s in pairs(red.call(b"ZRANGE", key, 0, -1, b"WITHSCORES")))
            elif t == "hash":
                rec["value"] = sorted(pairs(red.call(b"HGETALL", key)))
            elif t == "stream":
                rec["value"], rec["nodes"] = stream_truth(red, key)
            truth[(db, key)] = rec
    with open(args[1], "wb") as f:
        pickle.dump(truth, f)
    print("truth: %d keys" % len(truth), file=sys.stderr)


# Redis 7.0's OBJECT ENCODING -> the encoding it saves (rdbSaveObjectType),
# as `rdb json` names it.
SAVED_AS = {
    ("string", "int"): "string", ("string", "embstr"): "string", ("string", "raw"): "string",
    ("list", "quicklist"): "quicklist2",
    ("set", "intset"): "intset", ("set", "hashtable"): "hashtable",
    ("zset", "listpack"): "listpack", ("zset", "skiplist"): "skiplist2",
    ("hash", "listpack"): "listpack", ("hash", "hashtable"): "hashtable",
    ("stream", "stream"): "stream2",
}

# What every dataset must hold, or the generator did not do its job.
COVERAGE = set(SAVED_AS) | {"list with several nodes", "stream with several nodes", "key with a TTL",
                            "binary key", "binary value", "databases > 1", "list with a plain node",
                            "list with a compressed node"}


def cmd_check(args):
    truth_path, ours_path, seed = args[:3]
    coverage = "--coverage" in args
    tally = rdbjson.Tally("seed %s" % seed)
    truth = pickle.load(open(truth_path, "rb"))
    recs = rdbjson.load_ours(ours_path, tally)
    ours = rdbjson.by_key(recs, tally, ours_path)
    tally.keys("keys (server's SCAN vs rdb json)", truth, ours)
    seen = set()
    for k in sorted(truth):
        t = truth[k]
        seen.add((t["type"], t["encoding"]))
        if t["expire_ms"] is not None:
            seen.add("key with a TTL")
        if t.get("nodes", 1) > 1:
            seen.add("%s with several nodes" % t["type"])
        if t.get("plain"):
            seen.add("list with a plain node")
        if t.get("lzf"):
            seen.add("list with a compressed node")
        if any(c >= 0x80 for c in k[1]):
            seen.add("binary key")
        if t["type"] == "string" and b"\0" in t["value"]:
            seen.add("binary value")
        if k[0] > 0:
            seen.add("databases > 1")
        if k not in ours:
            continue
        o = ours[k]
        name = "db %d key %s" % (k[0], rdbjson.short(k[1], 80))
        tally.eq(name + " encoding (OBJECT ENCODING %s)" % t["encoding"],
                 SAVED_AS.get((t["type"], t["encoding"]), "?"), o["encoding"])
        c = rdbjson.canon_record(o)
        want = {"type": t["type"], "value": t["value"], "expire_ms": t["expire_ms"], "field_expires": []}
        if t["type"] == "list":
            want["value"] = list(t["value"])
        tally.eq(name, want, c)
    kinds = {}
    for t in truth.values():
        kinds["%s/%s" % (t["type"], t["encoding"])] = kinds.get("%s/%s" % (t["type"], t["encoding"]), 0) + 1
    print("seed %s: %d keys compared with the server (%s); lists with plain nodes: %d, with compressed "
          "nodes: %d" % (seed, len(truth), ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
                         sum(1 for t in truth.values() if t.get("plain")),
                         sum(1 for t in truth.values() if t.get("lzf"))), file=sys.stderr)
    if coverage:
        missing = sorted(str(x) for x in COVERAGE - seen)
        tally.ok(not missing, "the dataset lacks: %s" % ", ".join(missing))
    tally.report()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"generate": cmd_generate, "expiring": cmd_expiring, "truth": cmd_truth, "check": cmd_check,
     "del-streams": cmd_del_streams, "sleep-until": cmd_sleep_until}[cmd](args)


if __name__ == "__main__":
    main()
