"""`rasad run`: the whole product on one machine, in the foreground; Ctrl-C stops it cleanly.

It starts the local stack (unless told the clusters are external), runs setup, then supervises
one child process per pipeline service. A child that dies is reported and the rest stop too:
a half-running pipeline would silently fall behind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
import typer.main

from rasad.cli.console import err, plain

if TYPE_CHECKING:
    from rasad.core.settings import Settings

# Children get this long to finish in-flight batches and commit offsets after SIGTERM.
STOP_GRACE_S = 20.0
# A feed host that answers when the internet is reachable; used only to choose live vs replay.
PROBE_HOST = ("www.aljazeera.net", 443)
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    # A replay ends once its corpus is published; the rest of the pipeline keeps running.
    finishes: bool = False


def online() -> bool:
    import socket

    try:
        with socket.create_connection(PROBE_HOST, timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def producer_argv(settings: Settings) -> list[str]:
    source = settings.run_source
    if source == "auto":
        source = "feeds" if online() else "replay"
    if source == "feeds":
        return ["produce"]
    path = settings.run_replay_path
    if not path.exists():
        raise typer.BadParameter(
            f"replay corpus {path} not found; set RASAD_RUN_REPLAY_PATH or RASAD_RUN_SOURCE=feeds"
        )
    argv = ["produce", "--replay", str(path), "--rate", str(settings.run_replay_rate)]
    return [*argv, "--present"] if settings.run_replay_present else argv


def services(settings: Settings, available: set[str]) -> list[Service]:
    """The pipeline's processes, limited to the commands this installation has."""
    wanted = [
        Service("worker", ["worker"]),
        Service("web", ["serve"]),
    ]
    if "produce" in available:
        argv = producer_argv(settings)
        wanted.insert(0, Service("producer", argv, finishes="--replay" in argv))
    return [s for s in wanted if s.argv[0] in available]


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            err().print(f"{name} did not stop in {STOP_GRACE_S:.0f}s; killing it")
            proc.kill()
            proc.wait()


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def supervise(plan: list[Service]) -> int:
    rasad = [sys.executable, "-m", "rasad.cli"]
    # SIGTERM (systemd, docker stop, kill) stops the children like Ctrl-C does; they run in
    # their own sessions, so without this they would outlive us. SIGINT is set too: a process
    # started in the background by a non-interactive shell (nohup, `&` in a script, some CI
    # runners) inherits SIGINT as ignored, and Python then leaves it ignored.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    children: dict[str, subprocess.Popen[bytes]] = {}
    for service in plan:
        # Own process group: Ctrl-C reaches only us, and we stop children in order.
        children[service.name] = subprocess.Popen([*rasad, *service.argv], start_new_session=True)
        err().print(f"started {service.name} (pid {children[service.name].pid})")
    err().print("[bold]Rasad is running.[/] Press Ctrl-C to stop everything.")
    finishing = {s.name for s in plan if s.finishes}
    watched = dict(children)
    try:
        while True:
            for name, proc in list(watched.items()):
                code = proc.poll()
                if code == 0 and name in finishing:
                    err().print(f"{name} finished; the rest keeps running")
                    del watched[name]
                elif code is not None:
                    err().print(f"[red]{name} exited with code {code}; stopping the rest[/]")
                    return code or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        err().print("stopping…")
        return 0
    finally:
        _stop(children)


def run_pipeline(app: typer.Typer) -> None:
    """`rasad run`; ``app`` is the whole CLI: only the services it has commands for start."""
    from rasad.core.settings import get_settings
    from rasad.stack import control as local_stack

    settings = get_settings()
    started_stack = False
    if settings.run_local_stack:
        was_up = all(s.healthy for s in local_stack.status(settings))
        try:
            local_stack.up(settings, progress=err().print)
        except local_stack.StackError as exc:
            err().print(f"[bold red]error:[/] {plain(exc)}")
            raise typer.Exit(1) from None
        started_stack = not was_up
    setup = subprocess.run([sys.executable, "-m", "rasad.cli", "setup"], check=False)
    if setup.returncode != 0:
        raise typer.Exit(setup.returncode)
    group = typer.main.get_command(app)
    available: set[str] = set(getattr(group, "commands", {}))
    plan = services(settings, available)
    if "web" in {s.name for s in plan}:
        err().print(f"web app: http://{settings.web_host}:{settings.web_port}/")
    code = supervise(plan)
    if started_stack:
        local_stack.down(settings, progress=err().print)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command() -> None:
        """Stack, setup, then producers, workers and the web app in the foreground."""
        run_pipeline(app)
