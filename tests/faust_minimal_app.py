"""A minimal Faust app for the foundation test: one agent, one table, real topics.

Topic names and the app id come from the environment so every test run is isolated.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import faust

app = faust.App(
    os.environ["MINIMAL_APP_ID"],
    broker=f"kafka://{os.environ.get('RASAD_KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:9092')}",
    store="memory://",
    datadir=os.environ["MINIMAL_DATADIR"],
    web_enabled=False,
    topic_partitions=1,
    topic_replication_factor=1,
    table_cleanup_interval=3600.0,
)
source = app.topic(os.environ["MINIMAL_IN"], key_serializer="raw", value_serializer="raw")
sink = app.topic(os.environ["MINIMAL_OUT"], key_serializer="raw", value_serializer="raw")
mentions = app.Table("mentions", default=int, partitions=1)


@app.agent(source)
async def count_mentions(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    """Counts messages per key in a table and reports the running count downstream."""
    async for event in stream.events():
        key = event.key or b""
        mentions[key] += 1
        await sink.send(key=key, value=f"{mentions[key]}:{event.value.decode()}".encode())
        yield None
