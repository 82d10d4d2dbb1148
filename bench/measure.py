"""What the benchmarks read besides their own clocks: CPU time of processes and of the engine's
thread groups (Linux /proc), the load average, and how many articles the engine can find.

Other engineers' jobs share the 2 cores and the engine, so the benches count the CPU seconds of
the processes and engine threads that work for them instead of trusting wall-clock time alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from rasad.core.settings import Settings


def cpu_seconds(pid: int | None, tid: int | None = None) -> float:
    """User + system CPU time a process (or one of its threads) has used so far (Linux /proc);
    0 for no process (a remote engine)."""
    if pid is None:
        return 0.0
    stat = Path(f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_pid(settings: Settings) -> int | None:
    """The local process listening on the engine URL's port, to count its CPU time; None for a
    remote engine (or one this user may not inspect)."""
    port = httpx.URL(settings.engine_url).port or 9200
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                pid: int | None = conn.pid
                return pid
    except psutil.AccessDenied:
        return None
    return None


def engine_threads(pid: int) -> dict[str, list[int]]:
    """The engine's threads by role, named by the JDK's jstack (Linux truncates thread names to
    15 characters, "opensearch[rasa"): other engineers index into the same engine, and only
    its search, HTTP and JVM (GC, JIT) threads work for this bench. Empty without jstack."""
    try:
        dump = subprocess.run(
            ["jstack", str(pid)], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    groups: dict[str, list[int]] = {"search": [], "http": [], "jvm": []}
    for name, nid in re.findall(r'^"([^"]*)".*? nid=(0x[0-9a-f]+)', dump, re.MULTILINE):
        if "][search]" in name:
            groups["search"].append(int(nid, 16))
        elif "transport_worker" in name or "http_server_worker" in name:
            groups["http"].append(int(nid, 16))
        elif name.startswith(("GC ", "G1 ", "C1 ", "C2 ", "VM Thread")):
            groups["jvm"].append(int(nid, 16))
    return groups


def thread_cpu(pid: int, groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each group of the engine's threads (the whole process when
    the threads are unknown); a thread that ended counts as zero."""
    if not groups:
        return {"whole process": cpu_seconds(pid)}
    used: dict[str, float] = {}
    for name, tids in groups.items():
        used[name] = 0.0
        for tid in tids:
            try:
                used[name] += cpu_seconds(pid, tid)
            except OSError:
                continue
    return used


def loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def searchable(settings: Settings) -> int:
    """Articles a search can find now behind the read alias (refreshes it first); 0 while the
    engine does not answer."""
    url = f"{settings.engine_url}/{settings.articles_read_alias}"
    try:
        httpx.post(f"{url}/_refresh", timeout=30)
        answer = httpx.get(f"{url}/_count", timeout=30)
    except httpx.HTTPError:
        return 0
    return int(answer.json()["count"]) if answer.status_code == 200 else 0


class ProcessesCpu:
    """CPU seconds (user + system) of some processes together."""

    def __init__(self, procs: list[subprocess.Popen[bytes]]) -> None:
        self.processes = [psutil.Process(p.pid) for p in procs]

    def cpu_s(self) -> float:
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
            except psutil.Error:  # exited: the run is ending anyway
                continue
            total += times.user + times.system
        return total


def py_spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """A py-spy recording of ``pid`` into ``out`` (speedscope), if py-spy is installed."""
    # on PATH, or installed in the venv running this script
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("py-spy not on PATH: no profile")
        return None
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--threads", "--format", "speedscope", "-o", str(out)]
    )
