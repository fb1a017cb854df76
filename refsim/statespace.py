"""The explorer's state space: a compact state derived from the machine's, and transitions
learned from the machine's one step.

The explorer (:mod:`refsim.explore`) memoises a table of outcomes per *canonical* state:
what the future of a run depends on and nothing else (its docstring lists what is kept).
This module writes that state compactly and steps it fast, without a second copy of the
semantics.

**The compact state.** Each thread's part of the state, its *local* (program counter,
the register if its next micro-step reads it, whether its pending load is stale, the
repetitions of a ``compute`` done, the locks it holds), is interned together with the
thread's program as a small int, a *lid*. Everything else the future depends on (the
words, which objects are freed, the true refs, the waiting primitives' counters and
condition waiters, free-threaded's biased counts) is interned as one more int, a *sid*.
Threads that run the same program are interchangeable (an outcome names no thread), so
within each such class the lids are sorted; a *slot* is a thread's place in that order.
The memo key packs the sorted lids and the sid into a single int: about 40 bytes where a
key of nested tuples took about 500.

**Transitions learned from the machine.** Stepping a thread reads its own local, the
shared part and a little about the other threads, which this module calls the
*context*: which locks are held (may it acquire?), which joined threads and objects'
owners have finished, and under ``gil`` which thread is inside a bytecode (only it may
run). It writes its own local and the shared part, and every other thread's pending load
of a word it stored becomes stale. So the effect of a step, written on compact states,
is a function of (lid, sid, context), and of the thread's slot where the shared part
names threads (condition waiters, merges queued for an owner). The first time a
combination is met, :meth:`Space.learn` builds a machine state that has this compact
form (:meth:`Space.representative`), runs :meth:`~refsim.machine.Machine.step` on it and
records the difference; every later state that presents the same combination reuses it.
Three counters in ``counter += 1`` threads meet a few thousand combinations and 44,104
states, so nearly every step of the exploration is a dict lookup. The machine's step stays
the only place where micro-steps have effects: a combination is learned from it, and the
learning asserts that nothing outside the assumed footprint changed. ``VERIFY`` (a test
switch) re-runs the machine on every reused step and compares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from refsim.machine import (
    ARITH,
    BINARY_OP,
    JOIN,
    S_DEC,
    S_INC,
    STORE,
    STORE_GLOBAL,
    Machine,
    State,
    ThreadState,
)
from refsim.model import AnomalyKind
from refsim.perthread import pack_threads
from refsim.trace import Anomaly, FinalValue

__all__ = ["Space"]

VERIFY = False
"""Check every reused transition against the machine's own step (slow; for the tests)."""

_READS_REGISTER = frozenset({ARITH, BINARY_OP, STORE, STORE_GLOBAL, S_INC, S_DEC})
"""Codes whose micro-step reads the register a LOAD left (else it is dead)."""

_B = 28
"""Bits per field of a packed key: lids, sids and contexts stay below ``2**28``."""
_LOW = (1 << _B) - 1

_BIT = {kind: 1 << i for i, kind in enumerate(AnomalyKind)}

_Final = tuple[tuple[str, FinalValue], ...]
_Local = tuple[int, int, bool, int, int, bool]
"""A thread's part of the state: pc, live register (else 0), stale flag, compute
repetitions, held locks (bit set), "ran last" (bounded exploration only)."""
_Effect = tuple[int, ...]
"""A learned step: the thread's new lid, the new sid, the words stored (bit set, whose
pending loads become stale) and the anomaly kinds the step recorded (bit set); ``()``
when the thread is not enabled."""
Child = list[Any]
"""One child of a state, for one group of equivalent threads: ``[key, lids, sid, size,
slot, kinds]``: its packed key, its lids and sid, the group's size, the slot the stepped
thread lands in, and the anomaly kinds the step recorded (bit set)."""


def bits_of(anomalies: tuple[Anomaly, ...]) -> int:
    """The anomaly kinds of ``anomalies`` as a bit set."""
    bits = 0
    for anomaly in anomalies:
        bits |= _BIT[anomaly.kind]
    return bits


class Space:
    """The machine of one exploration, its compact states and their learned transitions."""

    def __init__(self, machine: Machine, root: State | None = None) -> None:
        self.machine = machine
        self.root = machine.initial() if root is None else root
        """Where the exploration starts: the initial state, or a ``start`` state."""
        programs = machine.programs
        self.n = n = len(programs)
        ids: dict[int, int] = {}
        self.program_of = tuple(ids.setdefault(id(p), len(ids)) for p in programs)
        """Per thread, its program's index (threads made by ``count: n`` share one)."""
        self._programs = tuple({id(p): p for p in programs}.values())
        # Per program and pc: the word whose LOAD the register holds, if the next
        # micro-step reads the register; else -1 (the register is dead).
        self._live_word = tuple(
            tuple(i.word if i.code in _READS_REGISTER else -1 for i in program) + (-1,)
            for program in self._programs
        )
        # A thread another thread joins is not interchangeable with its twins: `join W1`
        # names it, so swapping it with W2 changes what the joiner waits for. An object's
        # owner (free-threaded) runs its own micro-steps for the object.
        joined = {i.word for program in programs for i in program if i.code == JOIN}
        watched = joined | machine.owners
        by_program: dict[object, list[int]] = {}
        for t, spec in enumerate(machine.scenario.threads):
            if t not in watched:
                by_program.setdefault(spec.ops, []).append(t)
        self.classes = tuple(tuple(ts) for ts in by_program.values() if len(ts) > 1)
        """Threads running the same program, in index order (only classes of 2 or more)."""
        self.class_of = [-1] * n
        for c, ts in enumerate(self.classes):
            for t in ts:
                self.class_of[t] = c
        self.has_sync = bool(
            machine.sync_names or machine.condition_names or machine.counting == "biased"
        )
        """Whether states carry counters, condition waiters or biased counts."""
        self._watched = tuple(sorted(watched))
        """Threads whose finishing another thread's step may read (joins, owners)."""
        self._has_waiters = bool(machine.condition_names)
        self._needs_context = machine.gil or machine.has_locks or bool(watched)
        self.lcm = math.lcm(*range(1, n + 1)) if n else 1
        self._powers = [1]
        self.outcomes: list[tuple[int, _Final]] = []
        """Interned future outcomes: (anomaly kind bits, final state)."""
        self._ids: dict[tuple[int, _Final], int] = {}
        self._unions: dict[tuple[int, int], int] = {}
        # Lids, with what the fast paths ask of them.
        self._lid_ids: dict[tuple[int, _Local], int] = {}
        self.lid_local: list[_Local] = []
        self._lid_program: list[int] = []
        self._word_of: list[int] = []
        """Per lid, the word of a pending load that is not stale yet, or -1."""
        self._stale_of: list[int] = []
        """Per lid, the lid once its pending load is stale (itself if it has none)."""
        self._held_of: list[int] = []
        self._inside_of: list[bool] = []
        self._done_of: list[bool] = []
        self._sid_ids: dict[tuple[Any, ...], int] = {}
        self.shared: list[tuple[Any, ...]] = []
        self._context_ids: dict[tuple[int, int, int], int] = {}
        self._moves: dict[int, _Effect] = {}
        self._stale_maps: dict[int, list[int]] = {}
        """Per bit set of stored words, each lid as it is once those stores happened."""
        self._symmetric = not self.has_sync and self.classes in ((), (tuple(range(n)),))
        """Whether every thread is in one class (or none is) and no step depends on the
        thread's slot: then expansion takes the fast path of :meth:`_expand_symmetric`."""

    # -- outcomes ---------------------------------------------------------------------

    def power(self, e: int) -> int:
        """``lcm ** e``, cached."""
        powers = self._powers
        while len(powers) <= e:
            powers.append(powers[-1] * self.lcm)
        return powers[e]

    def intern(self, bits: int, final: _Final) -> int:
        key = (bits, final)
        oid = self._ids.get(key)
        if oid is None:
            oid = self._ids[key] = len(self.outcomes)
            self.outcomes.append(key)
        return oid

    def union(self, oid: int, bits: int) -> int:
        """The outcome ``oid`` with the anomaly kinds ``bits`` added."""
        key = (oid, bits)
        found = self._unions.get(key)
        if found is None:
            kinds, final = self.outcomes[oid]
            found = self._unions[key] = self.intern(kinds | bits, final)
        return found

    def outcome(self, lids: list[int], sid: int) -> int:
        """The outcome of a state where no thread is enabled (the run's end)."""
        machine = self.machine
        state = self.representative(lids, sid)
        return self.intern(bits_of(machine.conclude(state)), machine.final(state))

    # -- the compact state --------------------------------------------------------------

    def lid(self, program: int, local: _Local) -> int:
        """The small int that stands for ``local`` in a thread running ``program``."""
        key = (program, local)
        found = self._lid_ids.get(key)
        if found is not None:
            return found
        lid = self._lid_ids[key] = len(self.lid_local)
        assert lid <= _LOW, "too many distinct thread states to pack"
        pc, reg, stale, reps, held, last = local
        code = self._programs[program]
        word = self._live_word[program][pc]
        self.lid_local.append(local)
        self._lid_program.append(program)
        self._word_of.append(word if word >= 0 and not stale else -1)
        self._stale_of.append(lid)
        self._held_of.append(held)
        self._inside_of.append(pc < len(code) and not code[pc].first)
        self._done_of.append(pc >= len(code))
        if word >= 0 and not stale:
            self._stale_of[lid] = self.lid(program, (pc, reg, True, reps, held, last))
        return lid

    def sid(self, shared: tuple[Any, ...]) -> int:
        found = self._sid_ids.get(shared)
        if found is None:
            found = self._sid_ids[shared] = len(self.shared)
            assert found <= _LOW, "too many distinct shared states to pack"
            self.shared.append(shared)
        return found

    def lids(self, state: State, last: int = -1) -> list[int]:
        """Each thread's lid in ``state`` (``last`` marks the thread that ran last)."""
        versions = state.versions
        held = [0] * self.n
        for lock, holder in enumerate(state.holders):
            if holder >= 0:
                held[holder] |= 1 << lock
        result = []
        for t, (pc, reg, loaded, reps) in enumerate(state.threads):
            program = self.program_of[t]
            w = self._live_word[program][pc]
            if w >= 0:
                local = (pc, reg, versions[w] != loaded, reps, held[t], t == last)
            else:
                local = (pc, 0, False, reps, held[t], t == last)
            result.append(self.lid(program, local))
        return result

    def _shared_of(self, state: State, slots: list[int] | None) -> tuple[Any, ...]:
        """The shared part of ``state``; condition waiters written as ``slots`` (if given)."""
        shared: tuple[Any, ...] = (state.values, state.freed, state.true_refs)
        if self.has_sync:
            waiters = state.waiters
            if slots is not None:
                waiters = tuple(tuple(slots[t] for t in queue) for queue in waiters)
            shared += (state.sync, waiters, state.brc)
        return shared

    def compact(self, state: State, last: int = -1) -> tuple[list[int], int, list[int], list[int]]:
        """``state`` as a canonical compact state: the lids in slot order, the sid, each
        thread's slot, and each thread's lid.

        Threads of one symmetry class occupy the class's slots in sorted order of their
        lids (and of their places in condition waiters' queues, which tell apart threads
        in the same local state); any other thread keeps its own slot."""
        lids = self.lids(state, last)
        slots = list(range(self.n))
        ordered = lids
        if self.classes:
            ordered = list(lids)
            rank = self._ranks(lids, state.waiters)
            for members in self.classes:
                by_rank = sorted(members, key=rank.__getitem__)
                for slot, t in zip(members, by_rank, strict=True):
                    ordered[slot] = lids[t]
                    slots[t] = slot
        sid = self.sid(self._shared_of(state, slots if self.classes else None))
        return ordered, sid, slots, lids

    def _ranks(self, lids: list[int], waiters: tuple[tuple[int, ...], ...]) -> list[int]:
        """Per thread, what orders it within its class: its lid, then (for threads in the
        same local state, which only condition waiters can tell apart) its place in a
        waiters' queue, so that every way of writing one state sorts the same."""
        if not self._has_waiters:
            return lids
        place = [0] * self.n
        for c, queue in enumerate(waiters):
            for i, t in enumerate(queue):
                place[t] = c * self.n + i + 1
        scale = len(waiters) * self.n + 1
        return [lid * scale + p for lid, p in zip(lids, place, strict=True)]

    def canon(self, state: State, last: int = -1) -> tuple[tuple[int, ...], list[int], list[int]]:
        """The memo key of ``state`` (with ``last`` marked), each thread's slot in it and
        each thread's lid."""
        ordered, sid, slots, lids = self.compact(state, last)
        return pack(ordered, sid), slots, lids

    def representative(self, lids: list[int], sid: int) -> State:
        """A machine state whose compact form is (``lids``, ``sid``), thread ``i`` in slot
        ``i``. What the compact form leaves out is filled with values that change no
        future: version 1 for every word (a stale pending load holds version 0), no step,
        and placeholder last stores and frees (they only feed messages)."""
        machine = self.machine
        shared = self.shared[sid]
        values, freed, true_refs = shared[0], shared[1], shared[2]
        sync, waiters, brc = shared[3:] if self.has_sync else ((), (), ())
        holders = [-1] * len(machine.lock_names)
        threads = []
        for t, lid in enumerate(lids):
            pc, reg, stale, reps, held, _ = self.lid_local[lid]
            w = self._live_word[self._lid_program[lid]][pc]
            threads.append(ThreadState(pc, reg, (0 if stale else 1) if w >= 0 else -1, reps))
            lock = 0
            while held:
                if held & 1:
                    holders[lock] = t
                held >>= 1
                lock += 1
        words = len(values)
        state = State(
            threads=pack_threads(threads, len(threads)),
            values=values,
            versions=(1,) * words,
            freed=freed,
            true_refs=true_refs,
            holders=tuple(holders),
            kinds=0,
            step=0,
            last_store=((0, 0, "?"),) * words,
            freed_by=((0, 0),) * machine.n_objects,
            live=(),
            inside=-1,
            sync=sync,
            waiters=waiters,
            brc=brc,
        )
        return machine.settle(state)

    # -- stepping compact states --------------------------------------------------------

    def _context(self, lids: list[int]) -> int:
        """What a thread's step may read of the others, as a small int: under ``gil`` the
        thread inside a bytecode, the locks held, and which watched threads are done."""
        inside = -1
        held = 0
        if self.machine.gil:
            inside_of = self._inside_of
            for s, lid in enumerate(lids):
                if inside_of[lid]:
                    inside = s
                    break
        if self.machine.has_locks:
            held_of = self._held_of
            for lid in lids:
                held |= held_of[lid]
        done = 0
        for i, t in enumerate(self._watched):
            if self._done_of[lids[t]]:
                done |= 1 << i
        key = (inside, held, done)
        found = self._context_ids.get(key)
        if found is None:
            found = self._context_ids[key] = len(self._context_ids)
            assert found <= _LOW, "too many distinct contexts to pack"
        return found

    def learn(self, lids: list[int], sid: int, s: int) -> _Effect:
        """The effect of stepping slot ``s`` of the compact state (``lids``, ``sid``), from
        the machine's own step on a representative state; ``()`` if it is not enabled."""
        machine = self.machine
        state = self.representative(lids, sid)
        if not machine.is_enabled(state, s):
            return ()
        child, _, anomalies = machine.step(state, s)
        after = self.lids(child)
        stored = 0
        for w, (before, now) in enumerate(zip(state.versions, child.versions, strict=True)):
            if before != now:
                stored |= 1 << w
        word_of, stale_of = self._word_of, self._stale_of
        for u, lid in enumerate(lids):
            if u != s:
                w = word_of[lid]
                expected = stale_of[lid] if w >= 0 and stored >> w & 1 else lid
                # The footprint this module assumes (see the docstring): a step changes
                # another thread only by making its pending load stale.
                assert after[u] == expected, (
                    f"stepping {machine.thread_names[s]} changed {machine.thread_names[u]}"
                )
        return (after[s], self.sid(self._shared_of(child, None)), stored, bits_of(anomalies))

    def expand(self, lids: list[int], sid: int) -> tuple[int, list[list[int]], list[Child]]:
        """The enabled threads' number, their groups (threads of one class in the same
        local state: stepping any of them gives the same canonical child) and, per group,
        the child of stepping its first thread. No enabled thread: ``(0, [], [])``."""
        if self._symmetric:
            return self._expand_symmetric(lids, sid)
        n = self.n
        base = sid << _B
        if self._needs_context:
            base |= self._context(lids) << 2 * _B
        moves = self._moves
        by_slot = self.has_sync
        enabled: list[int] = []
        effects: list[_Effect] = []
        for s in range(n):
            key = lids[s] | base
            if by_slot:
                key |= s << 3 * _B
            effect = moves.get(key)
            if effect is None:
                effect = moves[key] = self.learn(lids, sid, s)
            elif VERIFY:
                assert effect == self.learn(lids, sid, s), "a reused step differs"
            if effect:
                enabled.append(s)
                effects.append(effect)
        if not enabled:
            return 0, [], []
        class_of = self.class_of
        groups: list[list[int]] = []
        children: list[Child] = []
        seen: dict[int, list[int]] | None = {} if self.classes else None
        for s, effect in zip(enabled, effects, strict=True):
            if seen is not None and class_of[s] >= 0:
                tag = class_of[s] << _B | lids[s]
                group = seen.get(tag)
                if group is not None:
                    group.append(s)
                    continue
                group = seen[tag] = [s]
            else:
                group = [s]
            groups.append(group)
            children.append(self._child(lids, s, effect))
        for group, child in zip(groups, children, strict=True):
            child[3] = len(group)
        return len(enabled), groups, children

    def _expand_symmetric(
        self, lids: list[int], sid: int
    ) -> tuple[int, list[list[int]], list[Child]]:
        """:meth:`expand` when all threads are interchangeable (or none are) and no step
        depends on its thread's slot: the lids are sorted, so threads in one local state
        are neighbours and share one learned step, and a child is put in canonical
        order by sorting its lids. This runs once per state: it is written for speed."""
        base = sid << _B
        if self._needs_context:
            base |= self._context(lids) << 2 * _B
        moves = self._moves
        symmetric = bool(self.classes)
        groups: list[list[int]] = []
        children: list[Child] = []
        k = 0
        previous = -1
        enabled = False
        group: list[int] = []
        for s, lid in enumerate(lids):
            if lid == previous and symmetric:
                if enabled:
                    group.append(s)
                    children[-1][3] += 1
                    k += 1
                continue
            previous = lid
            effect = moves.get(lid | base)
            if effect is None:
                effect = moves[lid | base] = self.learn(lids, sid, s)
            elif VERIFY:
                assert effect == self.learn(lids, sid, s), "a reused step differs"
            enabled = bool(effect)
            if not enabled:
                continue
            k += 1
            new, child_sid, stored, bits = effect
            child = self._after(lids, s, new, stored)
            slot = s
            if symmetric:
                child.sort()
                # Threads in one local state are interchangeable: any of their slots will do.
                slot = child.index(new)
            group = [s]
            groups.append(group)
            children.append([(*child, child_sid), child, child_sid, 1, slot, bits])
        return k, groups, children

    def _after(self, lids: list[int], s: int, new: int, stored: int) -> list[int]:
        """The lids once slot ``s`` has stepped to lid ``new``, storing to the words in
        ``stored`` (a bit set): every other thread's pending load of one of them is stale."""
        if stored:
            stale = self._stale_maps.get(stored)
            if stale is None or len(stale) < len(self.lid_local):
                stale = self._stale_map(stored)
            child = list(map(stale.__getitem__, lids))
        else:
            child = list(lids)
        child[s] = new
        return child

    def _stale_map(self, stored: int) -> list[int]:
        """Each lid as it is once the words in ``stored`` (a bit set) have been stored to:
        a pending load of one of them is stale."""
        found = self._stale_maps.setdefault(stored, [])
        word_of, stale_of = self._word_of, self._stale_of
        for lid in range(len(found), len(self.lid_local)):
            w = word_of[lid]
            found.append(stale_of[lid] if w >= 0 and stored >> w & 1 else lid)
        return found

    def _child(self, lids: list[int], s: int, effect: _Effect) -> Child:
        """Apply a learned step of slot ``s`` and put the result in canonical order."""
        lid, sid, stored, bits = effect
        child = self._after(lids, s, lid, stored)
        slot = s
        if self.classes:
            rank = child
            if self._has_waiters:
                rank = self._ranks(child, self.shared[sid][4])
            moved: list[int] | None = None
            for members in self.classes:
                ranks = [rank[t] for t in members]
                if sorted(ranks) == ranks:
                    continue
                order = sorted(range(len(members)), key=ranks.__getitem__)
                if moved is None:
                    moved = list(range(self.n))
                values = [child[t] for t in members]
                for i, j in enumerate(order):
                    child[members[i]] = values[j]
                    moved[members[j]] = members[i]
            if moved is not None:
                slot = moved[s]
                if self._has_waiters:
                    sid = self._remap(sid, moved)
        return [pack(child, sid), child, sid, 1, slot, bits]

    def _remap(self, sid: int, moved: list[int]) -> int:
        """The sid with condition waiters moved to their threads' new slots."""
        values, freed, true_refs, sync, waiters, brc = self.shared[sid]
        waiters = tuple(tuple(moved[t] for t in queue) for queue in waiters)
        return self.sid((values, freed, true_refs, sync, waiters, brc))

    def groups(self, enabled: Sequence[int], lids: list[int]) -> list[list[int]]:
        """The enabled threads of a machine state, grouped so that stepping any thread of a
        group gives the same canonical child: same symmetry class and same lid."""
        groups: list[list[int]] = []
        seen: dict[tuple[int, int], list[int]] = {}
        class_of = self.class_of
        for t in enabled:
            c = class_of[t]
            if c < 0:
                groups.append([t])
                continue
            group = seen.get((c, lids[t]))
            if group is None:
                group = seen[(c, lids[t])] = [t]
                groups.append(group)
            else:
                group.append(t)
        return groups


def pack(lids: list[int], sid: int) -> tuple[int, ...]:
    """The memo key of a canonical compact state: its lids and its sid, as one flat tuple
    of small ints (hashing one costs less than packing the ints into one)."""
    return (*lids, sid)
