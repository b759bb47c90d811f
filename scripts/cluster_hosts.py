"""The hosts of the namespaced cluster (scripts/cluster.py): their addresses, the network
namespaces and bridge that stand in for them, the processes started on them, and the state file that
remembers both, so that `scripts/cluster down` removes exactly what was made.

Every host is a network namespace `ofc-<host>` with one address in ORDERFLOW_CLUSTER_NET (a /24,
default 10.231.77.0/24) on the bridge `ofc-br0`; the bridge's own address (.1) is this machine's
way in. No namespace has a default route and nothing forwards or translates addresses: the hosts
reach each other and nothing else.
"""

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("ORDERFLOW_CLUSTER_DIR", ROOT / ".cluster")).resolve()
STATE_FILE = STATE_DIR / "state.json"
NET = ipaddress.ip_network(os.environ.get("ORDERFLOW_CLUSTER_NET", "10.231.77.0/24"))
PREFIX = "ofc-"
BRIDGE = f"{PREFIX}br0"
HOSTS = {"lb": 10, "web1": 11, "web2": 12, "worker": 13, "beat": 14, "db": 20, "redis1": 21, "redis2": 22, "redis3": 23}
WEB_HOSTS = ("web1", "web2")
SENTINEL_HOSTS = ("redis1", "redis2", "redis3")
HTTP_PORT, WS_PORT, PG_PORT, BOUNCER_PORT, REDIS_PORT, SENTINEL_PORT = 8000, 8001, 5432, 6432, 6379, 26379
MASTER_NAME = "orderflow"
PG_BIN = Path(os.environ.get("ORDERFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = ROOT / ".venv" / "bin"
# How often HAProxy checks each server, and after how many failures it stops sending to it.
CHECK_INTER_MS, CHECK_FAST_INTER_MS, CHECK_FALL, CHECK_RISE = 1000, 300, 3, 2


def address(host: str) -> str:
    if NET.prefixlen != 24 or not NET.is_private:
        sys.exit("ORDERFLOW_CLUSTER_NET must be a private /24")
    return str(NET.network_address + HOSTS[host])


def bridge_address() -> str:
    return str(NET.network_address + 1)


def lb_url() -> str:
    return f"http://{address('lb')}"


def run(*command: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


# --- state --------------------------------------------------------------------------------------


def load_state() -> dict:
    if STATE_FILE.exists():
        return json.loads(STATE_FILE.read_text())
    return {"namespaces": [], "links": [], "processes": {}, "data_dir": None}


def save_state(state: dict) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(STATE_FILE)


# --- network ------------------------------------------------------------------------------------


def network_up(state: dict) -> None:
    taken = run("ip", "-4", "route", "show", str(NET)).stdout.strip()
    if taken:
        sys.exit(f"cluster: {NET} is already routed on this machine ({taken}); set ORDERFLOW_CLUSTER_NET")
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    state["links"].append(BRIDGE)
    save_state(state)
    run("ip", "addr", "add", f"{bridge_address()}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for host in HOSTS:
        namespace, veth = f"{PREFIX}{host}", f"{PREFIX}{host}"
        run("ip", "netns", "add", namespace)
        state["namespaces"].append(namespace)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        state["links"].append(veth)
        save_state(state)
        run("ip", "link", "set", veth, "master", BRIDGE)
        run("ip", "link", "set", veth, "up")
        run("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{address(host)}/24", "dev", "eth0")
        run("ip", "netns", "exec", namespace, "ip", "link", "set", "eth0", "up")
        run("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")


def network_down(state: dict) -> None:
    for namespace in state["namespaces"]:
        # Whatever still runs in a namespace of ours (nothing should, by now) goes with it.
        pids = run("ip", "netns", "pids", namespace, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        run("ip", "netns", "del", namespace, check=False)
    for link in reversed(state["links"]):
        if run("ip", "link", "show", link, check=False).returncode == 0:
            run("ip", "link", "del", link, check=False)
    state["namespaces"], state["links"] = [], []


# --- processes ----------------------------------------------------------------------------------


def start(state: dict, name: str, host: str, command: list[str], *, env: dict | None = None, user: str = "") -> int:
    """Start `command` on `host` in a process group of its own, logging to <state>/logs/<name>.log."""
    logs = STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    prefix = ["ip", "netns", "exec", f"{PREFIX}{host}"]
    if user:
        prefix += ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            [*prefix, *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env or os.environ.copy(),
            start_new_session=True,
        )
    state["processes"][name] = {"host": host, "pgid": process.pid}
    save_state(state)
    return process.pid


def alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop(state: dict, name: str, *, sig: int = signal.SIGTERM, grace: float = 15.0) -> None:
    """Signal a process group, wait up to `grace` seconds, then kill what is left."""
    entry = state["processes"].pop(name, None)
    save_state(state)
    if entry is None:
        return
    pgid = entry["pgid"]
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    give_up = time.monotonic() + grace
    while alive(pgid) and time.monotonic() < give_up:
        reap(pgid)
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap(pgid)


def reap(pid: int) -> None:
    """Collect a child's exit (the test runs the cluster in its own process): a zombie still counts
    as alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_listening(host: str, port: int, seconds: float = 60) -> None:
    give_up = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((address(host), port), timeout=0.5).close()
            return
        except OSError as exc:
            if time.monotonic() > give_up:
                raise RuntimeError(f"cluster: nothing listens on {host} ({address(host)}:{port})") from exc
            time.sleep(0.2)


def http_get(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_healthy(url: str, seconds: float = 60) -> None:
    give_up = time.monotonic() + seconds
    while http_get(url) != 200:
        if time.monotonic() > give_up:
            raise RuntimeError(f"cluster: {url} is not healthy after {seconds} s")
        time.sleep(0.3)
