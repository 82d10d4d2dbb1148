"""`rasad stack` against the real local Kafka and OpenSearch (the session's shared stack)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from rasad.core.settings import Settings
from rasad.stack import control as stack

PORT_SETTINGS = (
    "stack_kafka_port",
    "stack_kafka_controller_port",
    "stack_engine_port",
    "stack_engine_transport_port",
)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def running(settings: Settings) -> list[stack.ServiceStatus]:
    return stack.up(settings, progress=lambda _: None)


def test_status_reports_both_servers_healthy(
    settings: Settings, running: list[stack.ServiceStatus]
) -> None:
    statuses = {s.name: s for s in stack.status(settings)}

    assert set(statuses) == {"kafka", "opensearch"}
    assert all(s.running and s.healthy and s.pid for s in statuses.values()), statuses
    assert statuses["kafka"].address == f"127.0.0.1:{settings.stack_kafka_port}"


def test_second_up_is_idempotent_and_runs_no_maven(
    settings: Settings, running: list[stack.ServiceStatus], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run = subprocess.run

    def run_without_maven(command: list[str], *args: Any, **kwargs: Any) -> Any:
        assert Path(command[0]).name != "mvn", "up ran Maven although the stack is provisioned"
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run_without_maven)
    messages: list[str] = []

    again = stack.up(settings, progress=messages.append)

    assert stack.provisioned(settings)
    assert [s.pid for s in again] == [s.pid for s in running]
    assert sum("already running" in m for m in messages) == 2, messages


@pytest.fixture
def free_ports() -> Iterator[list[int]]:
    """Four distinct loopback ports that nothing listens on."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in PORT_SETTINGS]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in sockets]
    yield ports


@pytest.mark.parametrize("taken", PORT_SETTINGS)
def test_taken_port_is_named_with_its_setting(
    taken: str, free_ports: list[int], tmp_path: Path
) -> None:
    ports = dict(zip(PORT_SETTINGS, free_ports, strict=True))
    fresh = Settings(data_dir=tmp_path / "data", **ports)  # type: ignore[arg-type]

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[taken]))
        squatter.listen()
        with pytest.raises(stack.StackError) as error:
            stack.up(fresh, progress=lambda _: None)

    assert str(ports[taken]) in str(error.value)
    assert taken in str(error.value)
    assert not any(s.running for s in stack.status(fresh))


def test_logs_shows_the_servers_own_lines(
    settings: Settings, running: list[stack.ServiceStatus]
) -> None:
    assert len(stack.logs(settings, "kafka", lines=3).splitlines()) == 3
    assert "opensearch.log" in stack.logs(settings, lines=5)
    with pytest.raises(stack.StackError, match="choose one of"):
        stack.logs(settings, "zookeeper")
