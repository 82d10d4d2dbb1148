"""A notifier worker process for the kill-and-restart test: the alert agents of stream/app.py
over plain aiokafka, configured from RASAD_* environment variables, dead letters on stdout."""

from __future__ import annotations

import asyncio
import sys

from rasad.core.deadletter import DeadLetter
from rasad.core.settings import Settings
from tests.alerts_fixtures import run_agents


async def main() -> None:
    async def dead_letter(letter: DeadLetter) -> None:
        sys.stdout.buffer.write(letter.to_json() + b"\n")
        sys.stdout.flush()

    await run_agents(Settings(), dead_letter, asyncio.Event(), "worker")


if __name__ == "__main__":
    asyncio.run(main())
