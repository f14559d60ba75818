"""Helpers the proxy benchmarks share: free ports, waiting for a listener, a process's CPU."""
import os
import socket
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, what=None):
    """Returns once something accepts on `port`; exits the script if `proc` dies first or
    nothing listens within 10 s."""
    what = what or f"the process for port {port}"
    for _ in range(200):
        if proc is not None and proc.poll() is not None:
            sys.exit(f"{what} exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not start listening on {port}")


def cpu_split(pid):
    """(user, kernel) CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS  # utime, stime
