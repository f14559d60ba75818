#!/usr/bin/python3
"""redis-py (Debian's python3-redis), a client that knows nothing of Redis Cluster, through
`connpool proxy --url redis-cluster://...`, with the primaries checked directly. Run by
proxy_cluster_test.cpp one step at a time:

    proxy_cluster.py STEP PROXY_PORT PRIMARY_PORT[,PRIMARY_PORT...]

Each step prints what it checked and exits non-zero (with the reason) on the first failure.
"""
import sys
import time

import redis

sys.dont_write_bytecode = True  # importing proxy_steps must not leave __pycache__ in the tree
from proxy_steps import blpop_woken, check, slow_reader, watch_conflict

STEP, PROXY_PORT = sys.argv[1], int(sys.argv[2])
PRIMARIES = [int(p) for p in sys.argv[3].split(",")]


def proxy():
    return redis.Redis(host="127.0.0.1", port=PROXY_PORT, socket_timeout=10)


def node(port):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)


def refused(call, needle, what):
    try:
        call()
    except redis.ResponseError as e:
        check(needle in str(e), f"{what} ({e})")
        return
    check(False, what + ": no error")


def step_routing():
    r = proxy()
    keys = [f"k:{i}" for i in range(300)]
    for k in keys:
        r.set(k, k.upper())
    check(all(r.get(k) == k.upper().encode() for k in keys), "GET/SET of 300 keys")
    # The keys landed on every primary: the proxy routed them by slot.
    owned = [sum(1 for k in keys if _owns(node(p), k)) for p in PRIMARIES]
    check(all(c > 0 for c in owned) and sum(owned) == len(keys),
          f"keys spread over all {len(PRIMARIES)} primaries {owned}")
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.incr(f"n:{i}")
        pipe.get(f"n:{i}")
    res = pipe.execute()
    check(res == [x for i in range(200) for x in (1, b"1")], "400-command pipeline across slots, in order")
    check(r.ping() is True and r.echo("hi") == b"hi" and len(r.time()) == 2, "PING, ECHO, TIME")


def _owns(n, key):
    # MOVED means another primary owns the key's slot.
    try:
        n.execute_command("TYPE", key)
        return True
    except redis.ResponseError as e:
        if "MOVED" in str(e):
            return False
        raise


def step_multikey():
    r = proxy()
    pairs = {f"mk:{i}": f"v{i}" for i in range(50)}
    check(r.mset(pairs) is True, "MSET of 50 keys across slots")
    names = list(pairs) + ["mk:missing"]
    check(r.mget(names) == [v.encode() for v in pairs.values()] + [None],
          "MGET across slots: values in the client's order, nil for a missing key")
    check(r.exists(*names) == 50, "EXISTS across slots sums the parts")
    check(r.touch(*names[:10]) == 10, "TOUCH across slots")
    check(r.unlink(*names[:10]) == 10, "UNLINK across slots")
    check(r.delete(*names) == 40, "DEL across slots")
    check(r.mget(names[:3]) == [None, None, None], "deleted")
    refused(lambda: r.msetnx({"a:1": "x", "b:2": "y"}), "CROSSSLOT", "MSETNX across slots: CROSSSLOT")
    refused(lambda: r.keys("*"), "rule: cluster-keyspace", "KEYS refused")
    refused(lambda: r.execute_command("SELECT", "1"), "rule: cluster-select", "SELECT 1 refused")
    check(r.execute_command("SELECT", "0") in (True, b"OK"), "SELECT 0 accepted")


def step_transactions():
    r = proxy()
    other = proxy()
    r.set("{acct}balance", 100)
    with r.pipeline() as pipe:
        pipe.incrby("{acct}balance", 5)
        pipe.set("{acct}log", "deposit")
        pipe.get("{acct}balance")
        check(pipe.execute() == [105, True, b"105"], "MULTI/EXEC within one slot")
    # A transaction crossing slots is refused, as Redis Cluster does, and nothing runs.
    r.set("x:cross1", "before")
    with r.pipeline() as pipe:
        pipe.set("x:cross1", "after")
        pipe.set("y:cross2", "after")
        try:
            pipe.execute()
            check(False, "cross-slot MULTI refused")
        except (redis.ResponseError, redis.exceptions.ExecAbortError) as e:
            check("CROSSSLOT" in str(e) or "EXECABORT" in str(e), f"cross-slot MULTI refused ({e})")
    check(r.get("x:cross1") == b"before", "the refused transaction did not run")
    # Interactive (one command per round trip, as redis-cli): MULTI comes before any key.
    conn, call = bare_connection()
    check(call("MULTI") == b"OK", "interactive MULTI answered")
    check(call("SET", "{t}a", "1") == b"QUEUED", "first key queued")
    check(call("GET", "{t}a") == b"QUEUED", "same slot queued")
    check(call("EXEC") == [b"OK", b"1"], "interactive EXEC on the key's node")
    call("MULTI")
    call("SET", "{t}a", "2")
    check("CROSSSLOT" in str(call("SET", "elsewhere", "2")), "a command on another slot refused")
    # redis-py strips the EXECABORT code into the exception's class.
    check(isinstance(call("EXEC"), redis.exceptions.ExecAbortError), "EXEC after it: EXECABORT")
    check(call("GET", "{t}a") == b"1", "the aborted transaction did not run")
    call("MULTI")
    check(call("EXEC") == [], "an empty transaction")
    call("MULTI")
    check(call("PING") == b"QUEUED", "keyless command queued")
    check(call("EXEC") == [b"PONG"], "a keyless transaction runs on a primary")
    conn.disconnect()
    # WATCH conflict on the key's node.
    watch_conflict(r, other, "{acct}balance")
    check(r.get("x:cross1") == b"before" and r.set("after:tx", 1), "the client is usable afterwards")


def step_blocking():
    blpop_woken(proxy(), proxy(), "queue")


def step_pubsub():
    r = proxy()
    p = r.pubsub()
    p.subscribe("news")
    first = p.get_message(timeout=5)
    check(first and first["type"] == "subscribe", "SUBSCRIBE confirmed")
    # Published on every primary: cluster Pub/Sub reaches the subscriber from any node.
    for port in PRIMARIES:
        node(port).publish("news", f"from {port}")
    got = []
    deadline = time.time() + 5
    while len(got) < len(PRIMARIES) and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m and m["type"] == "message":
            got.append(m["data"])
    check(sorted(got) == sorted(f"from {port}".encode() for port in PRIMARIES),
          "messages published on every primary arrive")
    p.close()


def step_moved():
    # Run after the test moved the slot of "moving:key" to another primary: the proxy follows
    # the MOVED and the client never sees it.
    r = proxy()
    check(r.get("moving:key") == b"payload", "GET after the slot moved")
    check(r.set("moving:key", "again") is True and r.get("moving:key") == b"again",
          "SET/GET on the new owner")


def scan_all(r, count, **kw):
    """Every key a full SCAN through the proxy returns, with the number of calls."""
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, keys = r.scan(cursor=cursor, count=count, **kw)
        seen += keys
        calls += 1
        check(calls < 10000, "SCAN ends")
        if cursor == 0:
            return seen, calls


def step_scan():
    r = proxy()
    keys = [f"sc:{i}" for i in range(500)]
    with r.pipeline(transaction=False) as pipe:
        for k in keys:
            pipe.set(k, 1)
        pipe.execute()
    r.set("other:1", 1)
    # Counted on the primaries directly: the keys are on every node.
    per_node = [len(node(p).keys("sc:*")) for p in PRIMARIES]
    check(all(n > 0 for n in per_node) and sum(per_node) == 500, f"keys on every primary {per_node}")
    seen, calls = scan_all(r, 7, match="sc:*")
    check(sorted(seen) == sorted(k.encode() for k in keys),
          f"SCAN MATCH COUNT 7: every key exactly once across nodes ({len(seen)} keys, {calls} calls)")
    check(calls >= 500 // 7, "small pages: the cursor carried the scan from node to node")
    seen, _ = scan_all(r, 1000)
    check(b"other:1" in seen and len(seen) == len(set(seen)), "SCAN without MATCH, no duplicates")
    check(sorted(r.scan_iter(match="sc:*", count=50)) == sorted(k.encode() for k in keys),
          "redis-py scan_iter")
    seen, _ = scan_all(r, 100, _type="string")
    check(len(seen) >= 501, "SCAN TYPE string")
    refused(lambda: r.execute_command("SCAN", "abc"), "invalid cursor", "a malformed cursor")
    refused(lambda: r.execute_command("SCAN", str(1000)), "start again at 0",
            "a cursor naming a node the cluster does not have")
    conn, call = bare_connection()
    call("MULTI")
    e = call("SCAN", "0")
    check(isinstance(e, redis.ResponseError) and "cluster-scan-in-multi" in str(e),
          f"SCAN inside MULTI refused ({e})")
    check(isinstance(call("EXEC"), redis.exceptions.ExecAbortError), "EXEC: EXECABORT")
    check(call("WATCH", "sc:1") == b"OK", "WATCH pins")
    page = call("SCAN", "0", "COUNT", "1000")
    check(isinstance(page, list) and page[0] != b"0", "SCAN while WATCHing walks the nodes too")
    call("UNWATCH")
    conn.disconnect()
    r.delete(*keys, "other:1")


def move_slot(key, finish=True):
    """Moves the slot of `key` to another primary as a resharding does (IMPORTING/MIGRATING,
    MIGRATE of its keys, then SETSLOT NODE everywhere) behind the proxy's back; with
    finish=False the slot stays migrating (the source answers ASK for the moved keys) and the
    returned function finishes the move."""
    slot = int(node(PRIMARIES[0]).execute_command("CLUSTER", "KEYSLOT", key))
    src = next(p for p in PRIMARIES if _owns(node(p), key))
    dst = next(p for p in PRIMARIES if p != src)
    ids = {p: node(p).execute_command("CLUSTER", "MYID") for p in (src, dst)}
    node(dst).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    node(src).execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    keys = node(src).execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
    if keys:
        node(src).execute_command("MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", *keys)

    def finish_move():
        for p in PRIMARIES:
            node(p).execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
    if finish:
        finish_move()
    return dst, finish_move


def bare_connection():
    """One connection, replies unparsed (redis-py's callbacks would turn QUEUED into False)."""
    conn = redis.Connection(host="127.0.0.1", port=PROXY_PORT, socket_timeout=10)

    def call(*args):
        conn.send_command(*args)
        try:
            return conn.read_response()
        except redis.ResponseError as e:
            return e
    return conn, call


def step_moved_pinned():
    # Slots move behind the proxy's back (its slot map is stale; the test runs it without the
    # periodic refresh): pinned clients never see a raw MOVED/ASK.
    r = proxy()
    r.set("{mp1}n", 0)
    dst, _ = move_slot("{mp1}n")
    with r.pipeline() as pipe:
        pipe.incr("{mp1}n")
        pipe.get("{mp1}n")
        check(pipe.execute() == [1, b"1"], "MULTI/EXEC pinned on a stale map: re-sent to the new owner")
    check(node(dst).get("{mp1}n") == b"1", "the transaction ran on the slot's new owner")

    r.set("{mp2}n", 5)
    move_slot("{mp2}n")

    def incr(pipe):
        v = int(pipe.get("{mp2}n"))
        pipe.multi()
        pipe.set("{mp2}n", v + 1)
    r.transaction(incr, "{mp2}n")
    check(r.get("{mp2}n") == b"6", "WATCH pinned on a stale map: re-sent to the new owner")

    r.rpush("{mp3}q", "job")
    move_slot("{mp3}q")
    check(r.blpop(["{mp3}q"], timeout=5) == (b"{mp3}q", b"job"), "BLPOP follows MOVED")

    # The slot moves in the middle of a transaction: the client gets a clear TRYAGAIN (it could
    # not follow MOVED) and EXECABORT; nothing runs.
    r.set("{mp4}n", "0")
    conn, call = bare_connection()
    check(call("MULTI") == b"OK" and call("SET", "{mp4}n", "1") == b"QUEUED", "MULTI, SET queued")
    move_slot("{mp4}n")
    e = call("SET", "{mp4}n", "2")
    check(isinstance(e, redis.ResponseError) and "moved to" in str(e) and "MOVED" not in str(e),
          f"a command after the slot moved: a clear error, not MOVED ({e})")
    check(isinstance(call("EXEC"), redis.exceptions.ExecAbortError), "EXEC: EXECABORT")
    check(call("GET", "{mp4}n") == b"0", "nothing ran; the client goes on on the new owner")
    conn.disconnect()

    # A slot half-migrated (ASK): a blocking pop follows it with ASKING; a transaction cannot.
    r.rpush("{mp5}q", "job")
    r.set("{mp5}n", "0")
    _, finish_move = move_slot("{mp5}q", finish=False)
    check(r.blpop(["{mp5}q"], timeout=5) == (b"{mp5}q", b"job"), "BLPOP follows ASK")
    conn, call = bare_connection()
    call("MULTI")
    e = call("SET", "{mp5}n", "1")
    check(isinstance(e, redis.ResponseError) and "is migrating to" in str(e) and "ASK" not in str(e),
          f"a transaction on a migrating slot: a clear error, not ASK ({e})")
    check(isinstance(call("EXEC"), redis.exceptions.ExecAbortError), "EXEC: EXECABORT")
    conn.disconnect()
    finish_move()
    check(r.get("{mp5}n") == b"0", "after the migration, the key as it was")


def step_slow_reader():
    # Through the cluster path (a ClusterPipeline per batch), and pinned (WATCH: the lease's
    # batch): the replies a client does not read are bounded by its output room, never
    # gathered whole (the test driver checks the proxy's peak memory).
    slow_reader(proxy(), PROXY_PORT, "shared")
    slow_reader(proxy(), PROXY_PORT, "pinned", prefix=b"WATCH big\r\n")


STEPS = {
    "slowreader": step_slow_reader,
    "scan": step_scan,
    "moved_pinned": step_moved_pinned,
    "routing": step_routing,
    "multikey": step_multikey,
    "transactions": step_transactions,
    "blocking": step_blocking,
    "pubsub": step_pubsub,
    "moved": step_moved,
}

if __name__ == "__main__":
    STEPS[STEP]()
