"""The worker's Kafka consumer: Faust's aiokafka consumer, with two fixes to where a rebalanced
partition resumes, one to pausing a partition and one to skipped offsets.

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

Second, the fetcher stops while the partitions are sought. Faust (0.15.3) resumes the flow while
it recovers the tables (to read their changelogs), resumes the stream partitions, seeks them to
the committed offsets, and then resumes the flow again, which empties every stream's buffer
(``FlowControlEvent.resume`` clears the queues). The fetcher went on delivering meanwhile: a
message it delivered after the seek had reset its read offsets was then dropped from the buffer
unprocessed, the read offset stayed past it (a message below it is dropped when the partition is
read again), and the offsets the delivery jumped over were marked done (``_add_gap``), so commits
went past it. Seen with two workers when one stopped mid-stream: the other committed past
articles it never enriched or indexed. Here the flow is stopped before the seek (the fetcher
drops the batch in hand, to be read again) and stays stopped until the caller resumes it, after
the buffers are emptied; gaps recorded before the seek are forgotten, the offsets are read again.

Pausing (``pause_partitions``, used to hold the reprocess topic while live articles are being
enriched): Faust removes the partition from the very set a drain under way (``getmany``) checks
each fetched record against, so the rest of a paused partition's records already taken from the
fetcher were dropped: never processed, never read again, and the partition's commits stuck at
the gap. Here a pause replaces the set, so a drain under way delivers what it took and the next
fetch leaves the partition out. A buffer that drains while its partition is paused leaves it
paused. A resume is Faust's own: it takes the partition back even if its stream buffer was
marked full (the buffer then grows past its size until the agent drains it), because a stale
mark left from before a rebalance would otherwise keep the partition out of every fetch.

Skipped offsets (a gap: records retention deleted while the group was away, so a partition
resumes past its committed offset): Faust's drain marks them done (``_add_gap``) up to and
including the offset of the message it is about to deliver, which then counts as done before it
is processed. Acked in offset order, as one agent instance acks, that made no difference; with
``RASAD_STREAM_AGENT_CONCURRENCY`` above 1, a later message acked first let a commit pass it, and
it was lost if the worker stopped before enriching it. Here a gap ends before that message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from faust.transport.consumer import ensure_TPset
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP


class CommittedOrEarliestConsumer(aiokafka_driver.Consumer):
    """Seeks a stream partition without a committed offset to its beginning after a rebalance,
    with the fetcher stopped until the flow resumes, pauses a partition without dropping the
    records a drain under way holds, and counts only skipped offsets as done."""

    async def perform_seek(self) -> None:
        # Every caller resumes the flow afterwards (Faust's recovery, right after it empties the
        # stream buffers), or calls this with the flow stopped already.
        self.stop_flow()
        self._gap.clear()
        await super().perform_seek()

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        changelogs = self.app.tables.changelog_topics
        uncommitted = [
            tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
        ]
        if uncommitted:
            # To the first offset, not seek_to_beginning(): that leaves the position unknown
            # until a reset finishes, and Faust's livelock check asserts on it meanwhile.
            await self._thread.seek_wait(await self._thread.earliest_offsets(*uncommitted))
        return committed

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        paused = ensure_TPset(tps)
        self._active_partitions = self._get_active_partitions() - paused
        self._paused_partitions.update(paused)

    def on_buffer_drop(self, tp: TP) -> None:
        if tp in self._paused_partitions:
            self._buffered_partitions.discard(tp)  # resume_partitions takes it back
        else:
            super().on_buffer_drop(tp)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # Faust's drain calls this with the offset of the message it delivers next as the
        # (inclusive) end; that message is acked when it is processed, like any other.
        await super()._add_gap(tp, offset_from, offset_to - 1)


class Transport(aiokafka_driver.Transport):
    """Faust's aiokafka transport with :class:`CommittedOrEarliestConsumer`."""

    Consumer = CommittedOrEarliestConsumer
