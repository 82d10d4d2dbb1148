"""The worker's consumer (stream/faust_consumer.py): offsets it skips count as done, the message
after them only once it is processed."""

from __future__ import annotations

from faust.types import TP

from rasad.core.settings import Settings
from stream.faust_config import create_app
from stream.faust_consumer import CommittedOrEarliestConsumer

# Offsets up to 10 are committed; Faust's drain read 10 and is then handed 15: 11-14 are gone.
COMMITTED = 11
LAST_READ, NEXT = 10, 15


async def after_a_gap(settings: Settings) -> tuple[CommittedOrEarliestConsumer, TP]:
    """The worker's consumer once its drain has been handed ``NEXT`` right after ``LAST_READ``."""
    consumer = create_app(settings).consumer
    assert isinstance(consumer, CommittedOrEarliestConsumer)
    tp = TP(settings.topic_raw, 0)
    consumer._committed_offset[tp] = COMMITTED
    await consumer._add_gap(tp, LAST_READ + 1, NEXT)  # as Faust's drain calls it
    return consumer, tp


async def test_the_message_after_skipped_offsets_is_not_done_before_it_is_acked(
    settings: Settings,
) -> None:
    consumer, tp = await after_a_gap(settings)
    consumer._acked[tp].append(NEXT + 1)  # another agent instance finished 16 first
    assert consumer._new_offset(tp) == NEXT  # commit up to 14: 15 is still being enriched


async def test_skipped_offsets_are_done_once_the_message_after_them_is_acked(
    settings: Settings,
) -> None:
    consumer, tp = await after_a_gap(settings)
    consumer._acked[tp].append(NEXT)
    assert consumer._new_offset(tp) == NEXT + 1
