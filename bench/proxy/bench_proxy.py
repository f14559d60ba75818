#!/usr/bin/python3
"""`make bench-proxy`: redis-benchmark -t get,set -d 16 at 50 and 500 clients, straight to
redis-server, through nutcracker (twemproxy) and through `connpool proxy`, in one sitting.

Both proxies get the same server-connection budget (nutcracker's server_connections = the
connpool pool's max_size). Each (target, clients) cell is run ROUNDS times, alternating targets
within a round, and the median is reported: ops/s and p99 per command, the proxy process's CPU
time per request (utime+stime from /proc), and the peak number of connections the proxy held
to redis-server while it ran (ss -tnp; for `direct`, the server's connected_clients). The load average is printed with the results.

Usage: bench_proxy.py CONNPOOL_BIN [ROUNDS] [REQUESTS] [BASELINE_BIN]

BASELINE_BIN, when given, is another connpool build run as a fourth target ("connpool
baseline") in the same rounds: a before/after comparison within one sitting.
With PROXY_THREADS=N in the environment (N > 1), CONNPOOL_BIN also runs as
`connpool proxy --threads N` ("connpool proxy xN"); the other connpool targets use one thread.
The proxy CPU per request is also printed split into user and kernel time.
"""
import csv
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from procs import cpu_split, free_port, wait_port

CONNPOOL = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
REQUESTS = int(sys.argv[3]) if len(sys.argv) > 3 else 50000
BASELINE = sys.argv[4] if len(sys.argv) > 4 else None
THREADS = int(os.environ.get("PROXY_THREADS", "1"))
MAX_SIZE = 8
CLIENTS = [50, 500]


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def server_clients(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "clients"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("connected_clients:"):
            return int(line.split(":")[1]) - 1  # minus redis-cli itself
    return -1


def proxy_connections(pid, redis_port):
    """Established connections from process `pid` to redis-server (ss -tnp)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", "dst",
                          f"127.0.0.1:{redis_port}"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if f"pid={pid}," in line)


def run_benchmark(port, clients, redis_port, pid):
    peak = [0]
    done = threading.Event()

    # A proxy's own connections to the server; for `direct`, everything the server sees.
    def sample():
        while not done.is_set():
            n = proxy_connections(pid, redis_port) if pid else server_clients(redis_port)
            peak[0] = max(peak[0], n)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "get,set", "-d", "16",
                          "-c", str(clients), "-n", str(REQUESTS), "--csv"],
                         capture_output=True, text=True, timeout=600).stdout
    done.set()
    sampler.join()
    rows = {}
    for row in csv.DictReader(io.StringIO(out)):
        rows[row["test"]] = (float(row["rps"]), float(row["p99_latency_ms"]))
    return rows, peak[0]


def main():
    tmp = tempfile.mkdtemp(prefix="bench-proxy-")
    procs = []
    try:
        redis_port, nut_port, cp_port = free_port(), free_port(), free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "",
                                  "--appendonly", "no", "--maxclients", "2000"],
                                 stdout=subprocess.DEVNULL, cwd=tmp)
        procs.append(redis)
        wait_port(redis_port, redis, "redis-server")
        conf = os.path.join(tmp, "nutcracker.yml")
        with open(conf, "w") as f:
            f.write(f"""bench:
  listen: 127.0.0.1:{nut_port}
  hash: fnv1a_64
  distribution: ketama
  redis: true
  timeout: 5000
  server_connections: {MAX_SIZE}
  auto_eject_hosts: false
  servers:
   - 127.0.0.1:{redis_port}:1
""")
        nut = subprocess.Popen(["/usr/sbin/nutcracker", "-c", conf, "-o",
                                os.path.join(tmp, "nutcracker.log")], stdout=subprocess.DEVNULL)
        procs.append(nut)
        wait_port(nut_port, nut, "nutcracker")
        def start_connpool(binary, port, what, threads=1):
            p = subprocess.Popen([binary, "proxy", "--threads", str(threads),
                                  "--listen", f"127.0.0.1:{port}", "--url",
                                  f"redis://127.0.0.1:{redis_port}?max_size={MAX_SIZE}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(port, p, what)
            return p

        cp = start_connpool(CONNPOOL, cp_port, "connpool proxy")
        targets = [("direct", redis_port, None), ("nutcracker", nut_port, nut.pid),
                   ("connpool proxy", cp_port, cp.pid)]
        if BASELINE:
            base_port = free_port()
            base = start_connpool(BASELINE, base_port, "connpool baseline")
            targets.append(("connpool baseline", base_port, base.pid))
        if THREADS > 1:
            mt_port = free_port()
            mt = start_connpool(CONNPOOL, mt_port, "connpool proxy threads", THREADS)
            targets.append((f"connpool proxy x{THREADS}", mt_port, mt.pid))
        results = {}  # (target, clients, test) -> list of (rps, p99); (target, clients) -> cpu, conns
        load_before = os.getloadavg()
        for rnd in range(ROUNDS):
            for clients in CLIENTS:
                order = targets if rnd % 2 == 0 else list(reversed(targets))
                for name, port, pid in order:
                    split0 = cpu_split(pid) if pid else (0.0, 0.0)
                    rows, peak = run_benchmark(port, clients, redis_port, pid)
                    split1 = cpu_split(pid) if pid else (0.0, 0.0)
                    user, kernel = split1[0] - split0[0], split1[1] - split0[1]
                    cpu = user + kernel
                    results.setdefault((name, clients, "user_us_per_op"), []).append(
                        user * 1e6 / (2 * REQUESTS))
                    results.setdefault((name, clients, "kernel_us_per_op"), []).append(
                        kernel * 1e6 / (2 * REQUESTS))
                    for test, value in rows.items():
                        results.setdefault((name, clients, test), []).append(value)
                    results.setdefault((name, clients, "cpu_us_per_op"), []).append(
                        cpu * 1e6 / (2 * REQUESTS))
                    results.setdefault((name, clients, "conns"), []).append(peak)
                    print(f"round {rnd + 1} c={clients} {name}: {rows} peak_conns={peak} "
                          f"cpu={cpu:.2f}s", flush=True)
        load_after = os.getloadavg()

        print(f"\nmedians of {ROUNDS} alternated rounds, {REQUESTS} requests per test, -d 16, "
              f"max_size = server_connections = {MAX_SIZE}")
        print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
              f", after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}\n")
        print("| clients | target | SET ops/s | SET p99 ms | GET ops/s | GET p99 ms | proxy CPU µs/op "
              "| server conns (peak) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        med = lambda xs: statistics.median(xs)
        for clients in CLIENTS:
            for name, _, pid in targets:
                s = results[(name, clients, "SET")]
                g = results[(name, clients, "GET")]
                cpu = med(results[(name, clients, "cpu_us_per_op")])
                print(f"| {clients} | {name} | {med([x[0] for x in s]):.0f} | "
                      f"{med([x[1] for x in s]):.2f} | {med([x[0] for x in g]):.0f} | "
                      f"{med([x[1] for x in g]):.2f} | {'—' if not pid else f'{cpu:.1f}'} | "
                      f"{med(results[(name, clients, 'conns')]):.0f} |")
        print("\nproxy CPU per request, medians: user + kernel µs")
        for clients in CLIENTS:
            for name, _, pid in targets:
                if pid:
                    print(f"  c={clients} {name}: "
                          f"{med(results[(name, clients, 'user_us_per_op')]):.1f} + "
                          f"{med(results[(name, clients, 'kernel_us_per_op')]):.1f}")
        print()
        for clients in CLIENTS:
            for test in ("SET", "GET"):
                cp_rps = med([x[0] for x in results[("connpool proxy", clients, test)]])
                nut_rps = med([x[0] for x in results[("nutcracker", clients, test)]])
                direct = med([x[0] for x in results[("direct", clients, test)]])
                line = (f"c={clients} {test}: connpool/nutcracker = {cp_rps / nut_rps:.2f}x, "
                        f"connpool/direct = {cp_rps / direct:.2f}x")
                if BASELINE:
                    base_rps = med([x[0] for x in results[("connpool baseline", clients, test)]])
                    line += f", connpool/baseline = {cp_rps / base_rps:.2f}x"
                if THREADS > 1:
                    mt_rps = med([x[0] for x in results[(f"connpool proxy x{THREADS}", clients,
                                                         test)]])
                    line += f", connpool x{THREADS}/nutcracker = {mt_rps / nut_rps:.2f}x"
                print(line)
                # Per-round ratios: the rounds share their moment's load, the medians do not.
                per_round = [c[0] / n[0] for c, n in zip(results[("connpool proxy", clients, test)],
                                                          results[("nutcracker", clients, test)])]
                print(f"  per-round connpool/nutcracker: "
                      + ", ".join(f"{r:.2f}x" for r in per_round))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
