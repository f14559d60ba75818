"""Checks shared by the proxy's redis-py scripts (proxy_clients.py, proxy_cluster.py), whatever
the upstream: a plain server or a cluster."""
import socket
import threading
import time

import redis


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        raise SystemExit(1)
    print("ok:", what, flush=True)


def watch_conflict(r, other, key):
    """WATCH, then another client changes the key before EXEC: WatchError, nothing written;
    then r.transaction() without a conflict goes through. Leaves the key at b"1"."""
    with r.pipeline() as pipe:
        pipe.watch(key)
        value = int(pipe.get(key))
        other.set(key, 0)
        pipe.multi()
        pipe.set(key, value + 1)
        try:
            pipe.execute()
            check(False, "WATCH conflict detected")
        except redis.WatchError:
            check(True, "WATCH/MULTI/EXEC conflict raises WatchError")
    check(r.get(key) == b"0", "the conflicting transaction did not run")

    def incr(pipe):
        v = int(pipe.get(key))
        pipe.multi()
        pipe.set(key, v + 1)
    r.transaction(incr, key)
    check(r.get(key) == b"1", "r.transaction() with WATCH succeeds without a conflict")


def blpop_woken(r, pusher, key):
    """BLPOP on `r` woken by an RPUSH from `pusher` 0.3 s later; returns the seconds it took."""
    r.delete(key)
    def push_later():
        time.sleep(0.3)
        pusher.rpush(key, "job-1")
    t = threading.Thread(target=push_later)
    t.start()
    started = time.time()
    got = r.blpop([key], timeout=5)
    t.join()
    check(got == (key.encode(), b"job-1"), f"BLPOP woken by a push from another client ({got})")
    return time.time() - started


def slow_reader(r, port, what, prefix=b""):
    """A client that pipelines 200 GETs of a 1 MiB value (200 MiB of replies) after `prefix`
    and never reads is disconnected, with far less than that sent to it; r (another client)
    is unaffected."""
    big = b"x" * (1 << 20)
    r.set("big", big)
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(prefix + b"GET big\r\n" * 200)  # 200 MiB of replies, and nobody reads them
    time.sleep(3)
    s.settimeout(10)
    received = 0
    closed = False
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                closed = True
                break
            received += len(chunk)
    except (ConnectionResetError, socket.timeout) as e:
        closed = isinstance(e, ConnectionResetError)
    s.close()
    check(closed, f"{what}: a client that does not read is disconnected "
                  f"(got {received >> 20} MiB of 200)")
    check(received < 100 << 20, f"{what}: its replies were not buffered without bound")
    check(r.get("big") == big, f"{what}: other clients are unaffected")
