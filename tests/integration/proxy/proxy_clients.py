#!/usr/bin/python3
"""Real clients through `connpool proxy`: redis-py (Debian's python3-redis) against the proxy,
redis-server checked directly. Run by proxy_python_test.cpp one step at a time:

    proxy_clients.py STEP PROXY_PORT REDIS_PORT MAX_SIZE

Each step prints what it checked and exits non-zero (with the reason) on the first failure.
"""
import socket
import sys
import threading
import time

import redis

sys.dont_write_bytecode = True  # importing proxy_steps must not leave __pycache__ in the tree
from proxy_steps import blpop_woken, check, slow_reader, watch_conflict

STEP, PROXY_PORT, REDIS_PORT, MAX_SIZE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def proxy(**kw):
    return redis.Redis(host="127.0.0.1", port=PROXY_PORT, socket_timeout=10, **kw)


def server():
    return redis.Redis(host="127.0.0.1", port=REDIS_PORT, socket_timeout=10)


def step_basic():
    r = proxy()
    check(r.set("greeting", "hello") is True, "SET through the proxy")
    check(r.get("greeting") == b"hello", "GET returns the value")
    blob = bytes(range(256)) * 64
    r.set("blob", blob)
    check(r.get("blob") == blob, "binary-safe 16 KiB value round trip")
    check(r.get("missing") is None, "nil for a missing key")
    pipe = r.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"p:{i}", i)
        pipe.incr("p:counter")
    results = pipe.execute()
    check(len(results) == 1000 and results[-1] == 500, "500-command pipeline, replies in order")
    check(r.mget([f"p:{i}" for i in range(5)]) == [b"0", b"1", b"2", b"3", b"4"], "MGET")
    try:
        r.execute_command("CLIENT", "KILL", "ID", "1")
        check(False, "CLIENT KILL refused")
    except redis.ResponseError as e:
        check("rule: client-kill" in str(e), f"CLIENT KILL refused naming its rule ({e})")
    try:
        r.execute_command("HELLO", "3")
        check(False, "HELLO 3 refused")
    except redis.ResponseError as e:
        check("NOPROTO" in str(e), "HELLO 3 answered -NOPROTO")
    try:
        r.lpush("greeting", "x")
        check(False, "WRONGTYPE passes through")
    except redis.ResponseError as e:
        check("WRONGTYPE" in str(e), "server error replies pass through unchanged")


def step_transactions():
    r = proxy()
    other = proxy()
    r.set("acct", 100)
    with r.pipeline() as pipe:  # MULTI/EXEC
        pipe.incrby("acct", 5)
        pipe.get("acct")
        check(pipe.execute() == [105, b"105"], "MULTI/EXEC through the proxy")
    # WATCH conflict: another client changes the key between WATCH and EXEC.
    watch_conflict(r, other, "acct")


def step_blocking():
    r = proxy()
    check(blpop_woken(r, proxy(), "queue") < 4, "BLPOP returned when the push came")
    # Meanwhile other clients were not blocked behind it (it has its own connection).
    check(r.blpop(["queue"], timeout=1) is None, "BLPOP times out with nil")
    # A client that hangs up during BLPOP k 0 does not keep a server connection blocked.
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", PROXY_PORT))
        s.sendall(b"BLPOP never-pushed 0\r\n")
        time.sleep(0.3)
        s.close()
    time.sleep(0.5)
    blocked = [c for c in server().client_list() if c.get("cmd") == "blpop"]
    check(not blocked, f"no server connection left blocked after the clients hung up ({blocked})")


def step_pubsub():
    r = proxy()
    p = proxy().pubsub()
    p.subscribe("news")
    msg = p.get_message(timeout=5)
    check(msg and msg["type"] == "subscribe" and msg["data"] == 1, f"subscribe confirmed ({msg})")
    p.psubscribe("ev.*")
    msg = p.get_message(timeout=5)
    check(msg and msg["type"] == "psubscribe" and msg["data"] == 2, "psubscribe confirmed")
    time.sleep(0.2)
    receivers = r.publish("news", "hello")
    check(receivers >= 1, f"PUBLISH reached {receivers} subscriber(s)")
    r.publish("ev.x", "patterned")
    got = []
    deadline = time.time() + 5
    while len(got) < 2 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m and m["type"] in ("message", "pmessage"):
            got.append((m["type"], m["channel"], m["data"]))
    check(("message", b"news", b"hello") in got, "message delivered")
    check(("pmessage", b"ev.x", b"patterned") in got, "pattern message delivered")
    p.unsubscribe()
    p.punsubscribe()
    p.close()


def step_killed_mid_transaction():
    r = proxy()
    r.set("mk", "before")
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", PROXY_PORT))
        s.sendall(b"WATCH mk\r\nMULTI\r\nSET mk during\r\n")
        buf = b""
        while buf.count(b"\r\n") < 3:
            buf += s.recv(1024)
        check(buf == b"+OK\r\n+OK\r\n+QUEUED\r\n", "WATCH, MULTI, SET queued on a pinned connection")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # killed: RST, no EXEC
    time.sleep(0.5)
    check(r.get("mk") == b"before", "the abandoned transaction never ran")
    clients = server().client_list()
    in_multi = [c for c in clients if "x" in c.get("flags", "")]
    check(not in_multi, f"no server connection left inside MULTI ({len(clients)} connections)")
    # The connections went back clean: transactions on them behave normally.
    for _ in range(MAX_SIZE + 2):
        with r.pipeline() as pipe:
            pipe.set("mk", "after")
            pipe.get("mk")
            check(pipe.execute() == [True, b"after"], "a later transaction on a reused connection")


def step_concurrency():
    errors = []
    peak = [0]
    stop = threading.Event()
    def watch_server():
        s = server()
        while not stop.is_set():
            n = s.info("clients")["connected_clients"] - 1  # minus this one
            peak[0] = max(peak[0], n)
            time.sleep(0.05)
    def worker(i):
        try:
            c = proxy()
            for j in range(50):
                c.set(f"c:{i}", j)
                if int(c.get(f"c:{i}")) != j:
                    errors.append(f"client {i} read back a wrong value")
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    watcher = threading.Thread(target=watch_server)
    watcher.start()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    check(not errors, f"200 concurrent clients, 50 SET/GET each ({errors[:3]})")
    check(peak[0] <= MAX_SIZE, f"server connections peaked at {peak[0]} <= max_size {MAX_SIZE}")


def step_slow_reader():
    slow_reader(proxy(), PROXY_PORT, "GETs")


def step_upstream_down():
    r = proxy()
    started = time.time()
    try:
        r.get("greeting")
        check(False, "a command fails while the server is down")
    except (redis.ResponseError, redis.ConnectionError) as e:
        check(True, f"a command fails while the server is down: {str(e)[:120]}")
    check(time.time() - started < 10, "and fails within 10 s (no hang)")


def step_upstream_back():
    deadline = time.time() + 20
    last = None
    while time.time() < deadline:
        try:
            r = proxy()
            r.set("back", "yes")
            if r.get("back") == b"yes":
                check(True, "the proxy recovered after the server restarted")
                return
        except (redis.ResponseError, redis.ConnectionError) as e:
            last = e
        time.sleep(0.25)
    check(False, f"the proxy recovered after the server restarted (last error: {last})")


STEPS = {
    "basic": step_basic,
    "transactions": step_transactions,
    "blocking": step_blocking,
    "pubsub": step_pubsub,
    "killed": step_killed_mid_transaction,
    "concurrency": step_concurrency,
    "slowreader": step_slow_reader,
    "down": step_upstream_down,
    "back": step_upstream_back,
}

if __name__ == "__main__":
    STEPS[STEP]()
