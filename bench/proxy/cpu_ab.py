#!/usr/bin/python3
"""The proxy's CPU per request, user and kernel, of two connpool builds (A/B) in one sitting:
each round starts `connpool proxy --threads 1` from each binary in turn (order alternated per
round) before one redis-server, runs `redis-benchmark -c CLIENTS -t get,set -n N -d 16` through
it and reads the proxy's utime/stime from /proc. Load-sensitive, but both builds see the same
moment's load; medians over the rounds. Compare with callgrind_proxy.sh (instruction counts,
load-immune, user space only).

Usage: cpu_ab.py A_BIN B_BIN [ROUNDS=3] [N=100000] [CLIENTS=50]
"""
import os
import signal
import statistics
import subprocess
import sys
import time

from procs import cpu_split, free_port, wait_port

A, B = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
N = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
CLIENTS = int(sys.argv[5]) if len(sys.argv) > 5 else 50


def run(binary, redis_port):
    port = free_port()
    p = subprocess.Popen([binary, "proxy", "--threads", "1", "--listen", f"127.0.0.1:{port}",
                          "--url", f"redis://127.0.0.1:{redis_port}?max_size=8"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        u0, k0 = cpu_split(p.pid)
        started = time.monotonic()
        subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(CLIENTS), "-t", "get,set",
                        "-n", str(N), "-d", "16", "-q"], check=True, capture_output=True)
        wall = time.monotonic() - started
        u1, k1 = cpu_split(p.pid)
        return (u1 - u0) * 1e6 / (2 * N), (k1 - k0) * 1e6 / (2 * N), 2 * N / wall
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)


def main():
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "",
                              "--appendonly", "no", "--maxclients", "2000"],
                             stdout=subprocess.DEVNULL)
    try:
        wait_port(redis_port)
        results = {"A": [], "B": []}
        print(f"load average before: {os.getloadavg()}")
        for rnd in range(ROUNDS):
            order = [("A", A), ("B", B)] if rnd % 2 == 0 else [("B", B), ("A", A)]
            for name, binary in order:
                user, kernel, rps = run(binary, redis_port)
                results[name].append((user, kernel, rps))
                print(f"round {rnd + 1} {name}: user {user:.2f} + kernel {kernel:.2f} µs/op, "
                      f"{rps:.0f} req/s", flush=True)
        print(f"load average after: {os.getloadavg()}")
        for name, binary in (("A", A), ("B", B)):
            rs = results[name]
            med = [statistics.median(x[i] for x in rs) for i in range(3)]
            print(f"{name} ({binary}): median user {med[0]:.2f} + kernel {med[1]:.2f} = "
                  f"{med[0] + med[1]:.2f} µs/op, {med[2]:.0f} req/s (c={CLIENTS}, n={N})")
    finally:
        redis.send_signal(signal.SIGTERM)
        redis.wait(timeout=10)


if __name__ == "__main__":
    main()
