#!/usr/bin/python3
"""A connected redis-py client (Debian's python3-redis) through `connpool proxy --url
redis-sentinel://...` while the master fails over. Run by proxy_sentinel_test.cpp:

    proxy_sentinel.py PROXY_PORT SENTINEL_PORT MASTER_NAME

The client keeps one connection to the proxy the whole time: it must never see the proxy go
away, and its writes must reach the promoted master once the Sentinels switched.
"""
import sys
import time

import redis

sys.dont_write_bytecode = True  # importing proxy_steps must not leave __pycache__ in the tree
from proxy_steps import check

PROXY_PORT, SENTINEL_PORT, MASTER = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


def master_port(sentinel):
    return int(sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)[1])


def main():
    r = redis.Redis(host="127.0.0.1", port=PROXY_PORT, socket_timeout=10,
                    single_connection_client=True)
    sentinel = redis.Redis(host="127.0.0.1", port=SENTINEL_PORT, socket_timeout=10)
    old = master_port(sentinel)
    check(r.set("before", "1") is True, f"SET through the proxy to the master on {old}")
    check(sentinel.execute_command("SENTINEL", "FAILOVER", MASTER) in (True, b"OK"),
          "SENTINEL FAILOVER started")
    deadline = time.time() + 60
    new = old
    while time.time() < deadline and new == old:
        time.sleep(0.2)
        new = master_port(sentinel)
    check(new != old, f"the Sentinels promoted {new}")

    # Writes through the same client connection until one lands on the new master: errors
    # (READONLY from the demoted master, an upstream reconnecting) are allowed meanwhile, a
    # dropped client connection is not.
    i, landed = 0, False
    while time.time() < deadline and not landed:
        i += 1
        try:
            r.set("after", str(i))
            landed = redis.Redis(host="127.0.0.1", port=new).get("after") == str(i).encode()
        except redis.ConnectionError as e:
            check(False, f"the client's connection to the proxy survived the failover ({e})")
        except redis.ResponseError as e:
            print("retrying after:", e, flush=True)
        if not landed:
            time.sleep(0.2)
    check(landed, f"writes through the proxy reach the new master {new} (after {i} tries)")
    check(r.get("before") == b"1", "data written before the failover is read back")


main()
