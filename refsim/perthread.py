"""Per-thread parts of a machine state that a step updates in time independent of the
number of threads (issue 16: 5,000 threads must not cost 500 times 10 per micro-step).

A :class:`~refsim.machine.State` keeps one entry per thread (``threads``) and the sorted
indices of the threads that have not finished (``live``). As plain tuples a step copies
all of them: fine for a handful of threads, and what the explorer and the page expect, but
a run of 5,000 threads would then spend its time copying. So past :data:`CHUNK` threads
the machine keeps them chunked, immutable all the same:

* :class:`Chunked`, a sequence kept as a shallow tree of tuples (leaves of 16 items,
  nodes of 16 leaves) and the item last replaced beside it: replacing that item again
  (the thread that just ran runs again) copies nothing, replacing another copies a
  leaf, a node and the top (about ``n / 256 + 32`` references, not ``n``);
* :class:`LiveSet`, the sorted thread indices in one chunk per block of :data:`CHUNK`
  thread indices, with the block's members as bits and running counts of the members
  before each block: the k-th live thread (what a chooser picks) is two bisections,
  membership one bit, removing a finished thread rebuilds one block and a few counts.

Both compare equal to (and hash as) the tuple of their items, so a state is a value
whichever form it takes. :func:`replaced`, :func:`removed` and :func:`added` work on
either form; :func:`pack_threads` and :func:`pack_live` pick the form from the number of
threads.
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar, cast, overload

__all__ = ["CHUNK", "Chunked", "LiveSet", "added", "pack_live", "pack_threads", "removed"]

CHUNK = 64
"""The most threads kept as plain tuples; also the live threads per block of a
:class:`LiveSet`."""
_SHIFT = 6
_MASK = CHUNK - 1
assert 1 << _SHIFT == CHUNK
_GROUP_SHIFT = 4
_GROUP = 1 << _GROUP_SHIFT
_GROUP_MASK = _GROUP - 1
"""A :class:`LiveSet`'s blocks per group."""
_LEAF, _NODE = 16, 256
"""A :class:`Chunked`'s items per leaf and per node (the shifts and masks in its methods
say the same: 4 bits of index per leaf, 8 per node)."""

T = TypeVar("T")


class _AsTuple:
    """Equal to, and hashed as, the tuple of its items, so that a state is one value in
    either form; two of one class compare by their parts, without building tuples."""

    __slots__ = ()

    def _parts(self) -> object:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return self._parts() == other._parts()
        if isinstance(other, tuple):
            return tuple(cast(Iterable[Any], self)) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(cast(Iterable[Any], self)))


def _put(top: tuple[Any, ...], index: int, item: object) -> tuple[Any, ...]:
    """The tree ``top`` of a :class:`Chunked` with ``item`` at ``index``: one leaf, one
    node and the top copied."""
    a = index >> 8
    node = top[a]
    b = (index >> 4) & 15
    leaf = list(node[b])
    leaf[index & 15] = item
    leaves = list(node)
    leaves[b] = tuple(leaf)
    nodes = list(top)
    nodes[a] = tuple(leaves)
    return tuple(nodes)


class Chunked(_AsTuple, Sequence[T], Generic[T]):
    """An immutable sequence kept as a shallow tree: leaves of 16 items, nodes of 16 leaves
    (256 items), and the tuple of nodes; plus the item last replaced, kept beside the tree.

    :meth:`replace` of the item last replaced (a thread that runs several micro-steps in
    a row) makes one small object and copies nothing; of another item it writes the one
    kept beside into the tree, copying one leaf, one node and the top (for 5,000 items
    about 50 references, where a flat tuple copies 5,000 and chunks of 64 under one
    tuple about 140)."""

    __slots__ = ("_at", "_item", "_size", "_top")

    def __init__(self, items: Iterable[T]) -> None:
        items = tuple(items)
        self._top = tuple(
            tuple(items[k : k + _LEAF] for k in range(i, min(i + _NODE, len(items)), _LEAF))
            for i in range(0, len(items), _NODE)
        )
        self._size = len(items)
        self._at: int | None = 0 if items else None
        """The index of the item kept beside the tree (the tree's own is stale); ``None``
        only when there are no items."""
        self._item: T = items[0] if items else cast(T, None)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if index == self._at:  # a step's lookup of the thread that ran last
            return self._item
        if type(index) is int and index >= 0:  # any other thread's: nothing else to check
            return self._top[index >> 8][(index >> 4) & 15][index & 15]
        if isinstance(index, slice):
            return tuple(self)[index]
        index = operator.index(index) + self._size
        if index < 0:
            raise IndexError("index out of range")
        return self[index]

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[T]:
        for node in self._folded():
            for leaf in node:
                yield from leaf

    def _folded(self) -> tuple[Any, ...]:
        """The tree with the item kept beside it written in."""
        if self._at is None:
            return self._top
        return _put(self._top, self._at, self._item)

    def replace(self, index: int, item: T) -> Chunked[T]:
        """This sequence with ``item`` at ``index`` (from 0, less than its length)."""
        new: Chunked[T] = object.__new__(Chunked)
        at = self._at
        if index == at:
            new._top = self._top
        else:
            assert at is not None, "no index of an empty sequence"
            new._top = _put(self._top, at, self._item)
        new._size = self._size
        new._at = index
        new._item = item
        return new

    def _parts(self) -> object:
        return self._folded()

    def __repr__(self) -> str:
        return f"Chunked({tuple(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Chunked, (tuple(self),))


class LiveSet(_AsTuple, Sequence[int]):
    """A sorted set of thread indices from ``range(n)``, immutable; indexed by rank (the
    k-th smallest), as the tuple of its items would be.

    The indices are kept in blocks of :data:`CHUNK` (thread ``t`` in block ``t >> 6``),
    the blocks in groups of 16. Each block holds its members as a sorted tuple (to find
    the k-th) and as bits (membership and rank: one shift); each block knows how many
    members the blocks before it in its group hold, each group how many the groups
    before it hold. Removing a thread rebuilds one block, the counts of one group and
    those of the groups (for 5,000 threads 5 groups: a count per block would be 79)."""

    __slots__ = ("_chunks", "_groups", "_masks", "_size", "_starts")

    def __init__(self, items: Iterable[int], n: int) -> None:
        blocks: list[list[int]] = [[] for _ in range((n + _MASK) >> _SHIFT)]
        for t in sorted(set(items)):
            if not 0 <= t < n:
                raise ValueError(f"thread index {t} is not in range({n})")
            blocks[t >> _SHIFT].append(t)
        self._chunks = tuple(tuple(block) for block in blocks)
        self._masks = tuple(sum(1 << (t & _MASK) for t in block) for block in blocks)
        """Per block, its members as bits (bit ``t & 63`` for thread ``t``)."""
        starts: list[tuple[int, ...]] = []
        groups: list[int] = []
        size = 0
        for g in range(0, len(blocks), _GROUP):
            groups.append(size)
            inside = [0]
            for block in blocks[g : g + _GROUP]:
                inside.append(inside[-1] + len(block))
            size += inside.pop()
            starts.append(tuple(inside))
        self._starts = tuple(starts)
        """Per group, per block in it, how many members the group's blocks before it hold."""
        self._groups = tuple(groups)
        """Per group, how many members the groups before it hold."""
        self._size = size

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[int, ...]: ...
    def __getitem__(self, index: int | slice) -> int | tuple[int, ...]:
        if type(index) is not int:
            if isinstance(index, slice):
                return tuple(self)[index]
            index = operator.index(index)
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("index out of range")
        groups = self._groups
        g = bisect_right(groups, index) - 1
        index -= groups[g]
        starts = self._starts[g]
        j = bisect_right(starts, index) - 1
        return self._chunks[(g << _GROUP_SHIFT) + j][index - starts[j]]

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __contains__(self, t: object) -> bool:
        # Asked at every step by the choosers and the drivers: one bit of t's block.
        if type(t) is not int:
            return t in tuple(self)  # whatever equals a member, as in a tuple
        try:
            return t >= 0 and (self._masks[t >> _SHIFT] >> (t & _MASK)) & 1 == 1
        except IndexError:
            return False

    def __iter__(self) -> Iterator[int]:
        for chunk in self._chunks:
            yield from chunk

    def index(self, t: Any, start: int = 0, stop: int | None = None) -> int:
        """The rank of ``t`` (ValueError if absent)."""
        if start != 0 or stop is not None:
            return tuple(self).index(t, start, len(self) if stop is None else stop)
        if t not in self:
            raise ValueError(f"{t!r} is not in the set")
        j: int = t >> _SHIFT
        g = j >> _GROUP_SHIFT
        below = self._masks[j] & ((1 << (t & _MASK)) - 1)
        rank: int = self._groups[g] + self._starts[g][j & _GROUP_MASK] + below.bit_count()
        return rank

    def _with_block(self, j: int, block: tuple[int, ...], bit: int, change: int) -> LiveSet:
        """This set with block ``j`` replaced by ``block``, its bit ``bit`` flipped and
        ``change`` (+1 or -1) members."""
        chunks = list(self._chunks)
        chunks[j] = block
        masks = list(self._masks)
        masks[j] ^= bit
        g, b = j >> _GROUP_SHIFT, j & _GROUP_MASK
        inside = self._starts[g]
        starts = list(self._starts)
        starts[g] = inside[: b + 1] + tuple([count + change for count in inside[b + 1 :]])
        groups = self._groups
        new: LiveSet = object.__new__(LiveSet)
        new._chunks = tuple(chunks)
        new._masks = tuple(masks)
        new._starts = tuple(starts)
        new._groups = groups[: g + 1] + tuple([count + change for count in groups[g + 1 :]])
        new._size = self._size + change
        return new

    def without(self, t: int) -> LiveSet:
        """This set without ``t`` (itself if ``t`` is not in it)."""
        if t not in self:
            return self
        j = t >> _SHIFT
        bit = 1 << (t & _MASK)
        block = self._chunks[j]
        i = (self._masks[j] & (bit - 1)).bit_count()
        return self._with_block(j, block[:i] + block[i + 1 :], bit, -1)

    def with_(self, t: int) -> LiveSet:
        """This set with ``t`` (from ``range(n)``) added."""
        if t in self:
            return self
        j = t >> _SHIFT
        block = tuple(sorted((*self._chunks[j], t)))
        return self._with_block(j, block, 1 << (t & _MASK), 1)

    def _parts(self) -> object:
        return self._chunks

    def __repr__(self) -> str:
        return f"LiveSet({tuple(self)!r}, {len(self._chunks) << _SHIFT})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LiveSet, (tuple(self), len(self._chunks) << _SHIFT))


def pack_threads(items: Iterable[T], n: int) -> tuple[T, ...] | Chunked[T]:
    """The per-thread entries of a machine of ``n`` threads, in the form its steps use:
    a tuple up to :data:`CHUNK` threads, else :class:`Chunked`."""
    return tuple(items) if n <= CHUNK else Chunked(items)


def pack_live(items: Iterable[int], n: int) -> tuple[int, ...] | LiveSet:
    """The live threads (indices, any order) of a machine of ``n`` threads, sorted, in the
    form its steps use: a tuple up to :data:`CHUNK` threads, else :class:`LiveSet`."""
    return tuple(sorted(items)) if n <= CHUNK else LiveSet(items, n)


def replaced(items: tuple[T, ...] | Chunked[T], index: int, item: T) -> tuple[T, ...] | Chunked[T]:
    """``items`` (a tuple or :class:`Chunked`) with ``item`` at ``index``, same form."""
    if type(items) is Chunked:
        return items.replace(index, item)
    copy = list(items)
    copy[index] = item
    return tuple(copy)


def removed(live: tuple[int, ...] | LiveSet, t: int) -> tuple[int, ...] | LiveSet:
    """The live threads (a sorted tuple or :class:`LiveSet`) without ``t``, same form."""
    if type(live) is LiveSet:
        return live.without(t)
    return tuple(x for x in live if x != t)


def added(live: tuple[int, ...] | LiveSet, t: int) -> tuple[int, ...] | LiveSet:
    """The live threads (a sorted tuple or :class:`LiveSet`) with ``t``, same form."""
    if type(live) is LiveSet:
        return live.with_(t)
    return live if t in live else tuple(sorted((*live, t)))
