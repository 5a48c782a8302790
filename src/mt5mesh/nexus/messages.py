"""What nexus's follower and its stores process say to each other: one type per message.

To the writer, through the stores process's queue, in the order the follower accepted them:
``Batch``, ``Latest`` and ``Record``; ``None`` tells the writer to finish. Back to the follower,
through the stores process's pipe: ``Checkpoint`` once, then ``Update`` and ``Refill`` as they
come. They cross the process boundary by pickle: plain NamedTuples of plain data, and a reader
acts on a message's type, never on a tag or a length.
"""
from typing import Any, Dict, List, NamedTuple, Optional, Tuple


class Batch(NamedTuple):
    """Accepted events to write in one transaction, and the newest tick of each symbol in them
    (its wire frame, or the event) for Redis."""
    rows: List[Any]  # rows.Tick and rows.Trade, in seq order
    latest: Dict[str, Any]


class Latest(NamedTuple):
    """Redis's latest ticks alone (a resync's snapshot): symbol -> wire frame."""
    latest: Dict[str, bytes]


class Record(NamedTuple):
    """A discontinuity for INF's nexus_discontinuity table, in order with the ticks around it."""
    what: str  # epoch_change or gap_unrecoverable
    epoch: int
    first: int
    last: int
    detail: str


class Checkpoint(NamedTuple):
    """Where the store's committed stream ends, (epoch, seq); None when the stores process
    stopped before the store came up."""
    at: Optional[Tuple[int, int]]


class Update(NamedTuple):
    """The writer's and HUB's snapshots that changed (by name) and their metric updates."""
    changed: Dict[str, Any]
    metrics: List[Any]


class Refill(NamedTuple):
    """Seqs [first, last] of ``epoch`` the store lost after committing them: to write again."""
    epoch: int
    first: int
    last: int
