"""The worker's Kafka consumer: Faust's aiokafka consumer, with one fix to where a rebalanced
partition resumes.

After every rebalance Faust seeks each assigned partition back to the group's committed offset,
so messages it fetched but dropped while the rebalance suspended the flow are read again. A
partition the group never committed (or committed at 0) is not sought at all (aiokafka seeks
only to a committed offset above 0), so it resumes after the dropped messages: they were never
processed and are never read again. Seen with two workers on a new app: an article published to
an empty partition while the second worker joined was lost for good.

Here such a partition is sought to its beginning, which is what the group's reset policy
(``earliest``) means for a partition with nothing committed: every message in it is read, once
more at worst (the pipeline is at-least-once; documents are written by id). Changelog partitions
of tables are left alone: recovery reads them, and the group never commits them.
"""

from __future__ import annotations

from collections.abc import Mapping

from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP


class CommittedOrEarliestConsumer(aiokafka_driver.Consumer):
    """Seeks a stream partition without a committed offset to its beginning after a rebalance."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        changelogs = self.app.tables.changelog_topics
        uncommitted = [
            tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
        ]
        if uncommitted:
            await self._thread.seek_to_beginning(*uncommitted)
        return committed


class Transport(aiokafka_driver.Transport):
    """Faust's aiokafka transport with :class:`CommittedOrEarliestConsumer`."""

    Consumer = CommittedOrEarliestConsumer
