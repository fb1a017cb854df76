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
_GROUP = 16
"""A :class:`LiveSet`'s blocks per group (its methods spell the shifts and masks out:
``t >> 10`` is thread ``t``'s group, ``(t >> 6) & 15`` its block in the group, ``t & 63``
its bit; constants cost a lookup each on the hot path)."""
assert _GROUP << _SHIFT == 1 << 10
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
    the blocks in groups of 16, as a tree: the tuple of groups, each the tuple of its
    blocks, each block the tuple of its members as bits (membership and rank: one
    shift) followed by its members in order (the k-th). Each group knows how many
    members its blocks before each block hold, and the set how many the groups before
    each group hold. Removing a thread rebuilds its block, its group's tuple and counts,
    and the top: for 5,000 threads tuples of at most 65, 16, 17 and 5 items (a flat
    tuple per block would copy 79 items twice)."""

    __slots__ = ("_before", "_groups", "_inside", "_size")

    def __init__(self, items: Iterable[int], n: int) -> None:
        blocks: list[list[int]] = [[] for _ in range((n + _MASK) >> _SHIFT)]
        for t in sorted(set(items)):
            if not 0 <= t < n:
                raise ValueError(f"thread index {t} is not in range({n})")
            blocks[t >> _SHIFT].append(t)
        groups: list[tuple[tuple[int, ...], ...]] = []
        inside: list[tuple[int, ...]] = []
        before: list[int] = []
        size = 0
        for g in range(0, len(blocks), _GROUP):
            before.append(size)
            group = blocks[g : g + _GROUP]
            groups.append(tuple((sum(1 << (t & _MASK) for t in block), *block) for block in group))
            counts = [0]
            for block in group:
                counts.append(counts[-1] + len(block))
            size += counts.pop()
            inside.append(tuple(counts))
        self._groups = tuple(groups)
        """Per group, per block in it: the block's members as bits (bit ``t & 63`` for
        thread ``t``), then its members in order."""
        self._inside = tuple(inside)
        """Per group, per block in it, how many members the group's blocks before it hold."""
        self._before = tuple(before)
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
        before = self._before
        g = bisect_right(before, index) - 1
        index -= before[g]
        inside = self._inside[g]
        b = bisect_right(inside, index) - 1
        return self._groups[g][b][index - inside[b] + 1]

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __contains__(self, t: object) -> bool:
        # Asked at every step by the choosers and the drivers: one bit of t's block.
        if type(t) is not int:
            return t in tuple(self)  # whatever equals a member, as in a tuple
        try:
            return t >= 0 and (self._groups[t >> 10][(t >> 6) & 15][0] >> (t & 63)) & 1 == 1
        except IndexError:
            return False

    def __iter__(self) -> Iterator[int]:
        for group in self._groups:
            for block in group:
                yield from block[1:]

    def index(self, t: Any, start: int = 0, stop: int | None = None) -> int:
        """The rank of ``t`` (ValueError if absent)."""
        if start != 0 or stop is not None:
            return tuple(self).index(t, start, len(self) if stop is None else stop)
        if t not in self:
            raise ValueError(f"{t!r} is not in the set")
        g = t >> 10
        b = (t >> 6) & 15
        below = self._groups[g][b][0] & ((1 << (t & _MASK)) - 1)
        rank: int = self._before[g] + self._inside[g][b] + below.bit_count()
        return rank

    def without(self, t: int) -> LiveSet:
        """This set without ``t`` (itself if ``t`` is not in it)."""
        # Once per thread's end: a run of 5,000 threads of 4 micro-steps each feels it,
        # so the bits are looked at here, not through __contains__.
        g = t >> 10
        b = (t >> 6) & 15
        bit = 1 << (t & 63)
        try:
            block = list(self._groups[g][b])
        except IndexError:
            return self  # past the last thread
        if t < 0 or not block[0] & bit:
            return self
        del block[(block[0] & (bit - 1)).bit_count() + 1]
        block[0] ^= bit
        return self._with_block(g, b, tuple(block), -1)

    def with_(self, t: int) -> LiveSet:
        """This set with ``t`` (from ``range(n)``) added."""
        if t in self:
            return self
        g = t >> 10
        b = (t >> 6) & 15
        block = self._groups[g][b]
        members = sorted((*block[1:], t))
        return self._with_block(g, b, (block[0] | 1 << (t & 63), *members), 1)

    def _with_block(self, g: int, b: int, block: tuple[int, ...], change: int) -> LiveSet:
        """This set with block ``b`` of group ``g`` replaced by ``block`` (its bits first),
        holding ``change`` (+1 or -1) members more."""
        group = list(self._groups[g])
        group[b] = block
        groups = list(self._groups)
        groups[g] = tuple(group)
        inside = self._inside[g]
        insides = list(self._inside)
        insides[g] = inside[: b + 1] + tuple([count + change for count in inside[b + 1 :]])
        before = self._before
        new: LiveSet = object.__new__(LiveSet)
        new._groups = tuple(groups)
        new._inside = tuple(insides)
        new._before = before[: g + 1] + tuple([count + change for count in before[g + 1 :]])
        new._size = self._size + change
        return new

    def _parts(self) -> object:
        return self._groups

    def __repr__(self) -> str:
        return f"LiveSet({tuple(self)!r}, {self._capacity()})"

    def _capacity(self) -> int:
        """The ``n`` it was made for: threads from ``range(n)``, rounded up to a block."""
        return sum(len(group) for group in self._groups) << _SHIFT

    def __reduce__(self) -> tuple[Any, ...]:
        return (LiveSet, (tuple(self), self._capacity()))


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
