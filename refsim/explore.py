"""The explorer: every interleaving of a scenario, counted exactly (``refsim explore``).

It counts paths instead of enumerating them. The number of interleavings grows like
``(n·k)! / (k!)^n``, but the number of distinct *states* they pass through is small, and
the future of a run depends only on its state. So the explorer walks the state graph
depth first, driving the same pure :meth:`refsim.machine.Machine.step` as the SimPy
engine, and memoises, for every state, a table of the outcomes reachable from it:

* how many interleavings reach each one from there (an exact integer),
* the probability that the fair random scheduler reaches it from there (exact),
* the cost (preemptions, then steps) of the cheapest way to reach it, which later
  guides the search for each outcome's witness.

A parent's table is the sum of its children's, so each state is expanded once. The
states are walked in the compact form of :mod:`refsim.statespace` (a packed int per
state, steps learned from the machine's), and states with the same future share one
interned table.

**What makes two states equal** (the memo key, :meth:`refsim.statespace.Space.canon`):
everything the future depends on and nothing else.

* Message-only fields are dropped: ``step``, ``last_store``, ``freed_by``; and the
  derived ``live`` and ``inside``.
* Store versions are dropped too: the future only asks "has someone stored to this word
  since my LOAD?" (a ``lost-update`` if so), so each thread with a pending load keeps
  just a *stale* flag.
* A register that the thread's next micro-step does not read is dead (every later read
  is preceded by a LOAD that overwrites it), so it is left out.
* Lock holders are kept as, per thread, the set of locks it holds.
* The waiting primitives' state is kept whole: each event, semaphore and queue counter,
  and each condition's waiters (as slots, below).
* The anomalies recorded so far are factored out: a table holds the anomaly kinds
  recorded *from that state on*, and a parent adds the kinds its step recorded. An
  outcome's kinds are the union of the past's and the future's, so this is exact, and
  states that differ only in their history share one table.
* Symmetry: threads that run the same program (the same ops tuple, e.g. ``count: 3``
  copies) are interchangeable, because an outcome names no thread. Within each such
  class the threads' local states are sorted (then their places in condition waiters'
  queues, the only other thing that tells them apart), so permuted states share one
  table. When several enabled threads of one class are in the same local state, stepping any of
  them gives permuted (equal) children: the explorer steps one and counts it that many
  times. A thread that some thread joins is in no class (``join W1`` tells it apart from
  W2). Every interleaving is still counted exactly once; the differential test
  (``tests/test_explore.py``) holds this against brute force through the SimPy engine.

**Probabilities** are exact rationals computed with integers: every state's probability
numerators share one denominator ``L**e``, with ``L`` the least common multiple of
1..n (n threads) and ``e`` the most multi-way choices left on any path, so adding
children costs integer arithmetic instead of a Fraction (and a gcd) per addition.

**Witnesses.** A witness is a schedule reaching the outcome with the fewest preemptions,
then the fewest steps, then the earliest switches (at each step a switch comes before
continuing the same thread, and among switches the thread listed first wins). The cost of
the rest of a run depends on the thread that ran last (switching away from it is a
preemption only while it could continue), so each table entry keeps the cheapest cost
for every "last thread" as well as for a free first choice. After the count, the witness
is rebuilt forwards from the initial state, at each step taking the first thread in the
order above whose child can still reach the outcome at the optimal cost.

**Preemption bounds** (``preemption_bound=K``) count only interleavings with at most K
preemptions. The future then depends on the last thread and the preemptions left, so
both join the memo key (the last thread as a flag on its local state, so symmetry still
applies).

**Budgets.** ``max_states`` caps the memo, and a :class:`~refsim.budget.Meter` bounds
the time and memory (checked at every new state, and every few thousand micro-steps of
a sampled run). Running out raises :class:`ExplorationStopped`, which says what was
found so far (the anomaly kinds and final states seen: reachable, so a lower bound) and
what the whole job is; or, with ``sample=N``, falls back to N seeded runs of the fair
random scheduler, reported as a sample (``exhaustive=False``), never as exact (fewer
than N if the budget runs out during the sample).

What the whole job is: the number of interleavings, estimated by Knuth's estimator (the
product of the number of enabled threads along a fair random run is an unbiased
estimate of the number of complete schedules; :data:`ESTIMATE_RUNS` runs are averaged),
and the states it needs: at least those seen, or, for a program without anything that
blocks, at least one per combination of the threads' bytecode boundaries. Estimating the
distinct states themselves was tried and dropped: from the memo, the states seen per
combination of positions, and from random runs, capture-recapture per depth, both came
out ten times too low on a depth-first count stopped halfway (4 threads × 3 increfs:
about 20,000 estimated, 198,768 exactly).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from refsim.budget import BudgetExceeded, Limit, Meter, resident_memory
from refsim.machine import COMPUTE, IO, Machine, State
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.perthread import replaced
from refsim.scheduling import RandomChooser
from refsim.statespace import Child, Space, bits_of, pack
from refsim.trace import Exploration, FinalValue, Outcome, OutcomeStats

__all__ = [
    "DEFAULT_MAX_STATES",
    "ExplorationStopped",
    "Reachability",
    "StateBudgetExceeded",
    "explore",
    "reachable",
    "sample",
]

DEFAULT_MAX_STATES = 1_000_000
"""Distinct states the exact count may memoise (``--max-states``). A state costs 400 to
600 bytes with three or four threads (its key and its share of the interned outcome
tables), so this is about half a gigabyte, within the default memory budget; at about
40,000 states a second it is also about the default time budget."""

EXPLORED = "states explored"
"""The unit of the explorer's work in a meter's tally."""
SAMPLED = "runs sampled"
"""The unit of a sample's work."""
CHECK_EVERY = 4096
"""Micro-steps of a sampled run between two looks at the budget."""
REACH_TICK = 64
"""States of a reachability search between two looks at the budget (a state there costs
a few microseconds: a look at every one would cost a tenth of the time)."""

_KINDS = tuple(AnomalyKind)

# A witness cost packs (preemptions, steps) into one int so that comparing costs is one
# int comparison: a preemption outweighs any number of steps.
_PREEMPTION = 1 << 48
_INFINITE = 1 << 200

_Final = tuple[tuple[str, FinalValue], ...]


class ExplorationStopped(BudgetExceeded):
    """A budget (states, time or memory) ran out before the exploration was done; what it
    had found by then."""

    def __init__(
        self,
        limit: Limit,
        allowed: str,
        *,
        scenario: str,
        runtime: Runtime,
        states: int,
        kinds: frozenset[AnomalyKind] = frozenset(),
        finals: int = 0,
        at_least: int = 0,
        seconds_per_state: float | None = None,
        bytes_per_state: float | None = None,
        counting: bool = True,
        witnesses: tuple[tuple[AnomalyKind, Schedule], ...] = (),
    ) -> None:
        super().__init__(limit, allowed)
        self.scenario = scenario
        self.runtime = runtime
        self.states = states
        """Distinct states explored when it stopped."""
        self.kinds = kinds
        """Anomaly kinds seen so far: each is reachable, and more may be (a lower bound)."""
        self.finals = finals
        """Distinct final states seen so far (a lower bound)."""
        self.at_least = at_least
        """The distinct states the whole job needs at least: one per combination of the
        threads' bytecode boundaries, for a program without anything that blocks (0 when
        that says nothing more than ``states``)."""
        self._estimate: tuple[Machine, State] | None = None
        self._interleavings: int | None = None
        self.seconds_per_state = seconds_per_state
        self.bytes_per_state = bytes_per_state
        self.counting = counting
        """True for the exact count (:func:`explore`), False for :func:`reachable`."""
        self.witnesses = witnesses
        """:func:`reachable`: a schedule for each kind in ``kinds``."""

    @property
    def interleavings(self) -> int | None:
        """The number of interleavings, estimated (the module docstring says how) when
        first asked for (it takes a fraction of a second); ``None`` when not estimated."""
        if self._estimate is not None:
            machine, root = self._estimate
            self._estimate = None
            self._interleavings = _interleavings_estimate(machine, root)
        return self._interleavings

    @property
    def max_states(self) -> int | None:
        """The state budget, when that is what ran out."""
        return int(self.allowed.split()[0].replace(",", "")) if self.limit is Limit.STATES else None

    def __str__(self) -> str:
        head = f"{self.scenario} under {self.runtime}: {self.limit} of {self.allowed} ran out"
        if self.states:
            return f"{head} after {self.states:,} distinct states"
        return f"{head}: the count needs at least {max(self.at_least, 1):,}"


StateBudgetExceeded = ExplorationStopped
"""The name :class:`ExplorationStopped` had when states were the only budget."""


class _Budget(Exception):
    """Raised inside the count when the memo is full; turned into the public error."""


def _fewest_states(space: Space) -> int:
    """A lower bound on the distinct states the exact count visits, to give up at once
    on programs like ``compute 2500000`` beside another thread.

    Without anything that can block (locks, the waiting primitives) every combination of
    the threads' bytecode boundaries still ahead of them is reachable (run each thread up
    to its position in turn), and differs in its program counters; interchangeable threads
    count as multisets (from a ``start`` state where they stand at different places, at
    least the combinations over their number of orders). With anything that can block: 0
    (no bound)."""
    if space.machine.may_block:
        return 0
    return _combinations(space, micro=False)


def _combinations(space: Space, *, micro: bool) -> int:
    """How many combinations of the threads' positions lie ahead of the root: positions
    at bytecode boundaries, or (``micro``) after any micro-step (see :func:`_fewest_states`
    for interchangeable threads)."""
    positions = [
        1 + sum(i.times for i in program[ts.pc :] if micro or i.first) - ts.reps
        for program, ts in zip(space.machine.programs, space.root.threads, strict=True)
    ]
    bound = 1
    in_class: set[int] = set()
    for members in space.classes:
        in_class.update(members)
        k = len(members)
        if len({space.root.threads[t] for t in members}) == 1:
            bound *= math.comb(positions[members[0]] + k - 1, k)
        else:
            bound *= math.prod(positions[t] for t in members) // math.factorial(k)
    for t, p in enumerate(positions):
        if t not in in_class:
            bound *= p
    return bound


ESTIMATE_RUNS = 200
"""Fair random runs averaged to estimate the number of interleavings."""
ESTIMATE_STEPS = 50_000
"""The most micro-steps those runs may take together (a long program gets fewer runs)."""


def _interleavings_estimate(machine: Machine, root: State, seed: int = 0) -> int | None:
    """The number of complete schedules from ``root``, estimated (Knuth's estimator: the
    mean, over fair random runs, of the product of the number of enabled threads at each
    step); ``None`` if not even one run fits in :data:`ESTIMATE_STEPS`."""
    chooser = RandomChooser(seed)
    total = runs = steps = 0
    while runs < ESTIMATE_RUNS:
        state, weight = root, 1
        while enabled := machine.enabled(state):
            steps += 1
            if steps > ESTIMATE_STEPS:
                return total // runs if runs else None
            weight *= len(enabled)
            state = machine.step(state, chooser.choose(steps, enabled, -1))[0]
        total += weight
        runs += 1
    return total // runs


def _kinds(bits: int) -> tuple[AnomalyKind, ...]:
    """Anomaly kinds of a bit set, sorted (AnomalyKind is declared in sorted order)."""
    return tuple(kind for i, kind in enumerate(_KINDS) if bits >> i & 1)


# -- the unbounded count --------------------------------------------------------------------

_Entry = tuple[int, int, int, int, tuple[int, ...]]
"""(outcome id, interleavings, probability numerator, cost with a free first choice,
cost per last thread's slot)."""
_Table = tuple[Any, ...]
"""A state's table, flat: the probability exponent e (the numerators share the
denominator ``lcm**e``), then each entry's five fields one after the other. One tuple
per table instead of one per entry as well: a third less memory per state."""


def _entries(table: _Table) -> Any:
    """The entries of a flat table, each as the five fields of :data:`_Entry`."""
    fields = iter(table)
    next(fields)  # e
    return zip(fields, fields, fields, fields, fields, strict=True)


class _Exact:
    """Counts every interleaving from the initial state (no preemption bound).

    It walks compact states (:mod:`refsim.statespace`) depth first: a state is expanded
    on its first visit (its children computed, the unknown ones pushed) and its table
    combined from its children's on its second. Tables are interned: states with the same
    future share one table, and the per-slot costs are shared too."""

    def __init__(self, space: Space, max_states: int, meter: Meter | None) -> None:
        self.space = space
        self.max_states = max_states
        self.meter = meter
        self.memo: dict[tuple[int, ...], _Table] = {}
        """Per canonical state's key: its table (flat, :data:`_Table`)."""
        self._tables: dict[_Table, _Table] = {}
        self._costs: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._uniform: dict[int, tuple[int, ...]] = {}

    def count(self) -> tuple[tuple[int, ...], tuple[int, tuple[_Entry, ...]]]:
        """The root's key, and its table as (e, entries)."""
        space = self.space
        memo = self.memo
        meter = self.meter
        expand = space.expand
        lids, sid, _, _ = space.compact(space.root)
        root_key = pack(lids, sid)
        # Frames: [key, lids, sid, expansion or None].
        stack: list[list[Any]] = [[root_key, lids, sid, None]]
        while stack:
            frame = stack[-1]
            key = frame[0]
            if key in memo:
                stack.pop()
                continue
            expanded = frame[3]
            if expanded is None:
                if meter is not None:
                    meter.check()  # a deep first path expands long before it stores
                expanded = frame[3] = expand(frame[1], frame[2])
                for child in expanded[2]:
                    if child[0] not in memo:
                        stack.append([child[0], child[1], child[2], None])
                if stack[-1] is not frame:
                    continue
            stack.pop()
            self._store(key, self._combine(frame[1], frame[2], expanded))
        table = memo[root_key]
        return root_key, (table[0], tuple(_entries(table)))

    def _store(self, key: tuple[int, ...], value: _Table) -> None:
        memo = self.memo
        if len(memo) >= self.max_states:
            raise _Budget
        memo[key] = value
        if self.meter is not None:
            self.meter.tick(EXPLORED)

    def _combine(
        self, lids: list[int], sid: int, expanded: tuple[int, list[list[int]], list[Child]]
    ) -> _Table:
        """A state's table from its children's (its slots are its threads). This runs
        once per state: it is written for speed."""
        space = self.space
        k, groups, children = expanded
        n = space.n
        if not k:
            oid = space.outcome(lids, sid)
            return self._intern(0, [(oid, 1, 1, 0, (0,) * n)])
        memo = self.memo
        union = space.union
        if k == 1:
            # One thread may run: the child's table one step on. Every slot's cost is the
            # same (no switch is a preemption when only one thread can run).
            child_key, _, _, _, slot, bits = children[0]
            child_table = memo[child_key]
            if not bits:
                return self._intern(
                    child_table[0],
                    [
                        (oid, count, numerator, costs[slot] + 1, self._same(costs[slot] + 1))
                        for oid, count, numerator, _, costs in _entries(child_table)
                    ],
                )
        tables = [memo[child[0]] for child in children]
        e = max([table[0] for table in tables]) + (k > 1)
        share = space.lcm // k
        power = space.power
        n_groups = len(groups)
        acc: dict[int, list[Any]] = {}
        get = acc.get
        for g, (child, child_table) in enumerate(zip(children, tables, strict=True)):
            m, slot, bits = child[3], child[4], child[5]
            scale = m * share * power(e - 1 - child_table[0]) if k > 1 else 1
            for oid, count, numerator, _, costs in _entries(child_table):
                if bits:
                    oid = union(oid, bits)
                entry = get(oid)
                if entry is None:
                    best = [_INFINITE] * n_groups
                    best[g] = costs[slot] + 1
                    acc[oid] = [count * m if m > 1 else count, numerator * scale, best]
                else:
                    entry[0] += count * m if m > 1 else count
                    entry[1] += numerator * scale
                    cost = costs[slot] + 1
                    best = entry[2]
                    if cost < best[g]:
                        best[g] = cost
        # Per slot: continuing the thread that ran last costs its group's best; switching
        # away from it while it could continue costs a preemption more than the free
        # choice; a slot that cannot run leaves the next choice free.
        shared = self._costs
        table: list[Any] = [e]
        if n_groups == n:  # every thread can run, each in a group of its own
            for oid, (count, numerator, best) in acc.items():
                free = min(best)
                switch = free + _PREEMPTION
                per_slot = tuple([c if c < switch else switch for c in best])
                table += (oid, count, numerator, free, shared.setdefault(per_slot, per_slot))
        else:
            where = [n_groups] * n
            for g, group in enumerate(groups):
                for t in group:
                    where[t] = g
            for oid, (count, numerator, best) in acc.items():
                free = min(best)
                switch = free + _PREEMPTION
                best.append(free)
                per_slot = tuple(
                    [c if c < switch else switch for c in map(best.__getitem__, where)]
                )
                table += (oid, count, numerator, free, shared.setdefault(per_slot, per_slot))
        found = tuple(table)
        return self._tables.setdefault(found, found)

    def _same(self, cost: int) -> tuple[int, ...]:
        """The per-slot costs of a state where every slot costs ``cost``."""
        found = self._uniform.get(cost)
        if found is None:
            found = self._uniform[cost] = self._costs.setdefault(
                (cost,) * self.space.n, (cost,) * self.space.n
            )
        return found

    def _intern(self, e: int, entries: list[_Entry]) -> _Table:
        """One shared copy of a table, and of each per-slot cost tuple in it."""
        costs = self._costs
        shared: list[Any] = [e]
        for oid, count, numerator, free, per_slot in entries:
            shared += (oid, count, numerator, free, costs.setdefault(per_slot, per_slot))
        table = tuple(shared)
        return self._tables.setdefault(table, table)

    def witness(self, target: int) -> Schedule:
        """The fewest-preemption schedule reaching outcome ``target`` from the root."""
        space = self.space
        machine = space.machine
        memo = self.memo
        kinds, final = space.outcomes[target]
        state = space.root
        root = memo[space.canon(state)[0]]
        remaining = next(entry[3] for entry in _entries(root) if entry[0] == target)
        past, last, picks = 0, -1, []
        while enabled := machine.enabled(state):
            could_continue = last in enabled
            for t in _switch_order(enabled, last):
                step = 1 + (_PREEMPTION if could_continue and t != last else 0)
                if step > remaining:
                    continue
                child, _, anomalies = machine.step(state, t)
                so_far = past | bits_of(anomalies)
                child_key, slots, _ = space.canon(child)
                slot = slots[t]
                best = min(
                    (
                        costs[slot]
                        for oid, _, _, _, costs in _entries(memo[child_key])
                        if _reaches(space.outcomes[oid], so_far, kinds, final)
                    ),
                    default=_INFINITE,
                )
                if step + best == remaining:
                    state, past, last, remaining = child, so_far, t, best
                    picks.append(t)
                    break
            else:
                raise AssertionError("no step continues the witness")
        assert remaining == 0 and past | bits_of(machine.conclude(state)) == kinds
        return Schedule.from_steps(machine.thread_names[t] for t in picks)


def _switch_order(enabled: Sequence[int], last: int) -> list[int]:
    """The order in which witnesses prefer threads: a switch (to the thread listed first)
    before continuing the thread that ran last, so switches come as early as possible."""
    return [t for t in enabled if t != last] + ([last] if last in enabled else [])


def _reaches(future: tuple[int, _Final], past: int, kinds: int, final: _Final) -> bool:
    """True when a run whose past recorded ``past`` and whose future is ``future`` ends
    in the outcome (``kinds``, ``final``)."""
    return future[1] == final and future[0] | past == kinds


# -- the bounded count ----------------------------------------------------------------------

_BoundedEntry = tuple[int, int, int, int]
"""(outcome id, interleavings, probability numerator, witness cost)."""


class _Bounded:
    """Counts the interleavings with at most ``bound`` preemptions.

    The memo key adds the last thread (a flag on its local state, only while it could
    continue: otherwise no switch is a preemption) and the preemptions left.
    """

    def __init__(
        self,
        space: Space,
        bound: int,
        max_states: int,
        meter: Meter | None,
    ) -> None:
        self.space = space
        self.bound = bound
        self.max_states = max_states
        self.meter = meter
        self.memo: dict[tuple[tuple[int, ...], int], tuple[int, tuple[_BoundedEntry, ...]]] = {}

    def key(
        self, state: State, last: int, left: int
    ) -> tuple[tuple[tuple[int, ...], int], list[int]]:
        space = self.space
        if last >= 0 and last not in space.machine.enabled(state):
            last = -1
        key, _, lids = space.canon(state, last)
        return (key, left), lids

    def count(self) -> tuple[tuple[tuple[int, ...], int], tuple[int, tuple[_BoundedEntry, ...]]]:
        memo = self.memo
        root = self.space.root
        root_key = self.key(root, -1, self.bound)[0]
        stack: list[list[Any]] = [[root_key, root, -1, self.bound, None]]
        while stack:
            frame = stack[-1]
            key, state, last, left, children = frame
            if key in memo:
                stack.pop()
                continue
            if children is None:
                if self.meter is not None:
                    self.meter.check()
                children = frame[4] = self._expand(state, key, last, left)
                for _, _, child_key, child, t, child_left in children[1]:
                    if child_key not in memo:
                        stack.append([child_key, child, t, child_left, None])
                if stack[-1] is not frame:
                    continue
            stack.pop()
            value = self._combine(state, children)
            if len(memo) >= self.max_states:
                raise _Budget
            memo[key] = value
            if self.meter is not None:
                self.meter.tick(EXPLORED)
        return root_key, memo[root_key]

    def _expand(
        self, state: State, key: tuple[tuple[int, ...], int], last: int, left: int
    ) -> tuple[int, list[Any]]:
        space = self.space
        machine = space.machine
        enabled = machine.enabled(state)
        if not enabled:
            return (0, [])
        could_continue = last in enabled
        lids = space.lids(state, last if could_continue else -1)
        children = []
        for group in space.groups(enabled, lids):
            t = group[0]
            preempts = could_continue and t != last
            if preempts and left == 0:
                continue
            child_left = left - preempts
            child, _, anomalies = machine.step(state, t)
            child_key = self.key(child, t, child_left)[0]
            step = 1 + (_PREEMPTION if preempts else 0)
            children.append(
                (len(group), (step, bits_of(anomalies)), child_key, child, t, child_left)
            )
        return (len(enabled), children)

    def _combine(self, state: State, expanded: tuple[int, list[Any]]) -> tuple[int, Any]:
        space = self.space
        memo = self.memo
        k, children = expanded
        if not k:
            machine = space.machine
            oid = space.intern(bits_of(machine.conclude(state)), machine.final(state))
            return (0, ((oid, 1, 1, 0),))
        exponents = [memo[child[2]][0] for child in children]
        e = max(exponents) + (k > 1)
        share = space.lcm // k
        acc: dict[int, list[int]] = {}
        for i, (m, (step, bits), child_key, _, _, _) in enumerate(children):
            scale = m * share * space.power(e - 1 - exponents[i]) if k > 1 else 1
            for oid, count, numerator, cost in memo[child_key][1]:
                if bits:
                    oid = space.union(oid, bits)
                cost += step
                entry = acc.get(oid)
                if entry is None:
                    acc[oid] = [count * m, numerator * scale, cost]
                else:
                    entry[0] += count * m
                    entry[1] += numerator * scale
                    if cost < entry[2]:
                        entry[2] = cost
        return (e, tuple((oid, c, p, w) for oid, (c, p, w) in acc.items()))

    def witness(self, target: int) -> Schedule:
        space = self.space
        machine = space.machine
        memo = self.memo
        kinds, final = space.outcomes[target]
        state = space.root
        left = self.bound
        root = memo[self.key(state, -1, left)[0]][1]
        remaining = next(entry[3] for entry in root if entry[0] == target)
        past, last, picks = 0, -1, []
        while enabled := machine.enabled(state):
            could_continue = last in enabled
            for t in _switch_order(enabled, last):
                preempts = could_continue and t != last
                step = 1 + (_PREEMPTION if preempts else 0)
                if step > remaining or (preempts and left == 0):
                    continue
                child, _, anomalies = machine.step(state, t)
                so_far = past | bits_of(anomalies)
                child_key = self.key(child, t, left - preempts)[0]
                best = min(
                    (
                        cost
                        for oid, _, _, cost in memo[child_key][1]
                        if _reaches(space.outcomes[oid], so_far, kinds, final)
                    ),
                    default=_INFINITE,
                )
                if step + best == remaining:
                    state, past, last, remaining = child, so_far, t, best
                    left -= preempts
                    picks.append(t)
                    break
            else:
                raise AssertionError("no step continues the witness")
        assert remaining == 0 and past | bits_of(machine.conclude(state)) == kinds
        return Schedule.from_steps(machine.thread_names[t] for t in picks)


# -- sampling -------------------------------------------------------------------------------


def _sample(
    machine: Machine, runs: int, seed: int, meter: Meter | None
) -> tuple[list[tuple[Outcome, int, Schedule, int]], int]:
    """``runs`` runs of the fair random scheduler, run ``i`` seeded with ``seed + i`` (so
    ``refsim run FILE --seed S`` replays any of them); per outcome: hits, and the sampled
    schedule with the fewest preemptions, then steps (then the earliest run). Also the
    number of runs done: fewer than ``runs`` when the ``meter`` ran out (the run it was
    in the middle of is left out); :class:`~refsim.budget.BudgetExceeded` if not one
    run could be finished."""
    found: dict[tuple[int, _Final], list[Any]] = {}
    done = 0
    try:
        if meter is not None:
            meter.check()  # a run may be long: none starts once the budget is spent
        for i in range(runs):
            chooser = RandomChooser(seed + i)
            state = machine.initial()
            last, bits, preemptions = -1, 0, 0
            picks: list[int] = []
            look_at = CHECK_EVERY if meter is not None else -1
            while enabled := machine.enabled(state):
                t = chooser.choose(len(picks) + 1, enabled, last)
                if last in enabled and t != last:
                    preemptions += 1
                state, _, anomalies = machine.step(state, t)
                if anomalies:
                    bits |= bits_of(anomalies)
                picks.append(t)
                last = t
                if len(picks) == look_at:
                    assert meter is not None
                    meter.check()
                    look_at += CHECK_EVERY
            key = (bits | bits_of(machine.conclude(state)), machine.final(state))
            entry = found.get(key)
            cost = (preemptions, len(picks))
            if entry is None:
                found[key] = [1, cost, picks]
            else:
                entry[0] += 1
                if cost < entry[1]:
                    entry[1], entry[2] = cost, picks
            done += 1
            if meter is not None:
                meter.tick(SAMPLED)
    except BudgetExceeded:
        if not done:
            raise
    names = machine.thread_names
    table = [
        (
            Outcome(_kinds(bits), final),
            hits,
            Schedule.from_steps(names[t] for t in picks),
            cost[0],
        )
        for (bits, final), (hits, cost, picks) in found.items()
    ]
    return table, done


# -- the public entry point -----------------------------------------------------------------


def _sort_key(stats: OutcomeStats) -> tuple[Any, ...]:
    """Most frequent first; ties by probability, then by the outcome's text."""
    probability = -stats.probability if stats.probability is not None else 0
    return (-stats.count, probability, stats.preemptions, len(stats.witness), str(stats.outcome))


COLLECT_OVER = 50_000
"""A count stopped with more states than this collects its garbage at once (a fraction of
a second) to give the memory back; a smaller one is not worth the time."""

EXACT_SHARE = 0.75
"""With ``sample=N``, the part of the time the exact count may take: the rest is kept
for the sample, should the count not finish."""


def explore(
    scenario: Scenario,
    *,
    runtime: Runtime | None = None,
    preemption_bound: int | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    sample: int | None = None,
    seed: int = 0,
    meter: Meter | None = None,
    start: State | None = None,
) -> Exploration:
    """The outcome table of ``scenario`` under ``runtime`` (default: the scenario's).

    Every interleaving is counted exactly; each outcome gets its count, its share of all
    interleavings, its probability under the fair random scheduler and a witness with
    the fewest preemptions. With ``preemption_bound=K`` only interleavings with at most
    K preemptions are counted (probabilities are then conditional on staying within the
    bound). When more than ``max_states`` distinct states would be needed, or the
    ``meter``'s time or memory runs out, raises :class:`ExplorationStopped`, unless
    ``sample=N``: then the table is built from N runs of the fair random scheduler seeded
    ``seed``, ``seed + 1``, ... (fewer if the meter runs out first) and is marked not
    exhaustive. The meter counts the states (and sampled runs) as they go.

    ``start``, a state of the same scenario's :class:`~refsim.machine.Machine`, counts
    the interleavings that continue from there instead (what ``refsim play`` calls the
    odds from here): outcomes include the anomaly kinds already recorded on the way to
    ``start``, and witnesses are schedules from ``start`` (whose first switch is free).
    """
    if max_states < 1:
        raise ValueError(f"max_states must be at least 1, not {max_states}")
    if preemption_bound is not None and preemption_bound < 0:
        raise ValueError(f"the preemption bound must be at least 0, not {preemption_bound}")
    if sample is not None and sample < 1:
        raise ValueError(f"sample must be at least 1 run, not {sample}")
    if sample is not None and preemption_bound is not None:
        raise ValueError("sampling cannot respect a preemption bound: random runs preempt freely")
    if sample is not None and start is not None:
        raise ValueError("sampling replays seeded runs from the initial state, not from start")
    machine = Machine(scenario, runtime)
    space = Space(machine, start)
    exact = meter if meter is None or sample is None else meter.share(EXACT_SHARE)
    counter: _Exact | _Bounded = (
        _Exact(space, max_states, exact)
        if preemption_bound is None
        else _Bounded(space, preemption_bound, max_states, exact)
    )
    before = resident_memory() if meter is not None else None
    stopped: ExplorationStopped | None = None
    try:
        if meter is not None:
            meter.check()  # a budget already spent: not even the first state
        if _fewest_states(space) > max_states:
            raise _Budget
        _, (e, table) = counter.count()
    except (_Budget, BudgetExceeded) as error:
        spent = error if isinstance(error, BudgetExceeded) else None
        stopped = _stopped(space, counter.memo, max_states, spent, exact, before)
    if stopped is not None:
        if len(counter.memo) > COLLECT_OVER:
            # The memo's memory: the sample, or whoever catches the error, needs it back,
            # and the exception's traceback holds it in a cycle until collected.
            del counter
            gc.collect()
        if sample is None:
            raise stopped
        return _sampled(machine, sample, seed, meter, stopped)
    return _table(space, counter, table, e, preemption_bound)


def _stopped(
    space: Space,
    memo: dict[Any, Any],
    max_states: int,
    spent: BudgetExceeded | None,
    meter: Meter | None,
    before: int | None,
) -> ExplorationStopped:
    """What a count that ran out of budget had found (see :class:`ExplorationStopped`)."""
    machine = space.machine
    if spent is None:
        limit, allowed = Limit.STATES, f"{max_states:,} states"
    else:
        limit, allowed = spent.limit, spent.allowed
    bits = 0
    finals = set()
    for kinds, final in space.outcomes:
        bits |= kinds
        finals.add(final)
    states = len(memo)
    lower = _fewest_states(space)
    per_second = per_byte = None
    if meter is not None and states:
        per_second = meter.elapsed / states
        after = resident_memory()
        if before is not None and after is not None and after > before:
            per_byte = (after - before) / states
    stopped = ExplorationStopped(
        limit, allowed, scenario=machine.scenario.name, runtime=machine.runtime,
        states=states, kinds=frozenset(_kinds(bits | space.root.kinds)), finals=len(finals),
        at_least=lower if lower > states else 0,
        seconds_per_state=per_second, bytes_per_state=per_byte,
    )  # fmt: skip
    stopped._estimate = (machine, space.root)
    if spent is not None:
        stopped.adopt(spent)
    elif meter is not None:
        stopped.adopt(meter.exceeded(limit, allowed))
    return stopped


def _table(
    space: Space,
    counter: _Exact | _Bounded,
    table: tuple[Any, ...],
    e: int,
    preemption_bound: int | None,
) -> Exploration:
    """The outcome table of a finished count."""
    total = sum(entry[1] for entry in table)
    weight = sum(entry[2] for entry in table)
    # Outcomes are the kinds recorded before the root joined with those after it; two
    # futures that differ only in kinds the past already recorded are one outcome.
    past = space.root.kinds
    merged: dict[tuple[int, _Final], list[int]] = {}
    for entry in table:
        oid, count, numerator, cost = entry[0], entry[1], entry[2], entry[3]
        bits, final = space.outcomes[oid]
        found = merged.get((bits | past, final))
        if found is None:
            merged[(bits | past, final)] = [count, numerator, cost, oid]
        else:
            found[0] += count
            found[1] += numerator
            if cost < found[2]:
                found[2:] = [cost, oid]
    stats = []
    for (bits, final), (count, numerator, cost, oid) in merged.items():
        stats.append(
            OutcomeStats(
                outcome=Outcome(_kinds(bits), final),
                count=count,
                share=Fraction(count, total),
                probability=Fraction(numerator, weight),
                witness=counter.witness(oid),
                preemptions=cost // _PREEMPTION,
            )
        )
    stats.sort(key=_sort_key)
    machine = space.machine
    return Exploration(
        scenario=machine.scenario.name,
        runtime=machine.runtime,
        exhaustive=True,
        interleavings=total,
        outcomes=tuple(stats),
        preemption_bound=preemption_bound,
        states=len(counter.memo),
        bound_probability=(None if preemption_bound is None else Fraction(weight, space.power(e))),
    )


def _sampled(
    machine: Machine, runs: int, seed: int, meter: Meter | None, stopped: ExplorationStopped
) -> Exploration:
    """The table of ``runs`` sampled runs (fewer if the meter runs out), after the exact
    count ``stopped``; raises ``stopped`` if not one run could be finished."""
    try:
        return _sample_table(machine, runs, seed, meter, stopped.limit.value)
    except BudgetExceeded as error:
        # Report the exploration (which says more), spent as far as the sample went.
        stopped.adopt(error)
        raise stopped from None


def sample(
    scenario: Scenario,
    *,
    runs: int,
    runtime: Runtime | None = None,
    seed: int = 0,
    meter: Meter | None = None,
    budget: str | None = None,
) -> Exploration:
    """The outcome table of ``runs`` runs of the fair random scheduler, run ``i`` seeded
    with ``seed + i`` (fewer if the ``meter`` runs out first; :class:`BudgetExceeded` if
    not one run could be finished). ``budget`` says why a sample stands in for the exact
    table (:attr:`~refsim.trace.Exploration.budget`)."""
    if runs < 1:
        raise ValueError(f"a sample is at least 1 run, not {runs}")
    if meter is not None:
        meter.check()
    return _sample_table(Machine(scenario, runtime), runs, seed, meter, budget)


def _sample_table(
    machine: Machine, runs: int, seed: int, meter: Meter | None, budget: str | None
) -> Exploration:
    found, done = _sample(machine, runs, seed, meter)
    stats = [
        OutcomeStats(
            outcome=outcome,
            count=hits,
            share=Fraction(hits, done),
            probability=None,
            witness=witness,
            preemptions=preemptions,
        )
        for outcome, hits, witness, preemptions in found
    ]
    stats.sort(key=_sort_key)
    return Exploration(
        scenario=machine.scenario.name,
        runtime=machine.runtime,
        exhaustive=False,
        interleavings=done,
        outcomes=tuple(stats),
        states=0,
        seed=seed,
        requested=runs,
        budget=budget,
    )


# -- reachability only ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reachability:
    """Which anomaly kinds some interleaving reaches (``refsim check`` on programs too big
    to count), with one schedule showing each."""

    scenario: str
    runtime: Runtime
    kinds: frozenset[AnomalyKind]
    witnesses: tuple[tuple[AnomalyKind, Schedule], ...]
    """Per reachable kind, sorted: a complete schedule whose run records it (not
    necessarily one with the fewest preemptions)."""
    states: int


def reachable(
    scenario: Scenario,
    *,
    runtime: Runtime | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    meter: Meter | None = None,
) -> Reachability:
    """The anomaly kinds that some interleaving of ``scenario`` reaches, exactly, without
    counting interleavings.

    It explores a reduced state graph: when an enabled thread's next micro-step is
    thread-local (``compute`` or ``io``: it touches nothing shared, records nothing and
    cannot block or unblock anyone), only that thread moves, through its whole
    ``compute`` at once. Every complete run must take that step some time, and it
    commutes with everything, so moving it first loses no final state and no anomaly
    (the ample-set argument of partial-order reduction). Of interchangeable threads in one
    local state (the symmetry of the exact count), one moves. Raises
    :class:`ExplorationStopped` beyond ``max_states`` distinct states, or when the
    ``meter``'s time or memory runs out.
    """
    machine = Machine(scenario, runtime)
    space = Space(machine)
    seen: set[tuple[tuple[int, ...], int]] = set()
    witnesses: dict[AnomalyKind, Schedule] = {}
    # A path is a linked list of (thread, micro-steps, previous) so paths share prefixes.
    stack: list[tuple[State, int, Any]] = [(machine.initial(), 0, None)]
    recorded = 0
    """Every kind recorded on the way to a state seen: reachable, even before a run ends."""
    while stack:
        state, bits, path = stack.pop()
        canonical, _, lids = space.canon(state)
        key = (canonical, bits)
        if key in seen:
            continue
        try:
            if len(seen) >= max_states:
                raise _Budget
            if meter is not None and not len(seen) % REACH_TICK:
                meter.tick(EXPLORED, REACH_TICK)
        except (_Budget, BudgetExceeded) as error:
            spent = error if isinstance(error, BudgetExceeded) else None
            raise _unreached(space, seen, recorded, witnesses, max_states, spent, meter) from None
        seen.add(key)
        recorded |= bits
        enabled = machine.enabled(state)
        if not enabled:
            bits |= bits_of(machine.conclude(state))
            for kind in _kinds(bits):
                if kind not in witnesses:
                    witnesses[kind] = _path_schedule(machine, path)
            continue
        # Interchangeable threads in one local state have permuted children, which share a
        # key: one of them moves (as in the exact count). 10,000 copies of a thread would
        # otherwise push 10,000 children, each holding 10,000 threads.
        movers = [group[0] for group in space.groups(enabled, lids)]
        nexts = {t: machine.next_instr(state, t) for t in movers}
        alone = [t for t in movers if nexts[t].code in (COMPUTE, IO)]  # type: ignore[union-attr]
        for t in alone[:1] or reversed(movers):
            instr = nexts[t]
            assert instr is not None
            before, count = state, 1
            if instr.code == COMPUTE and instr.times - state.threads[t].reps > 1:
                # Run the rest of the compute at once: its repetitions only count (the
                # timed engine does the same); the machine runs the last one.
                ts = state.threads[t]
                count = instr.times - ts.reps
                skipped = ts._replace(reps=instr.times - 1)
                before = state._replace(
                    threads=replaced(state.threads, t, skipped),
                    step=state.step + count - 1,
                )
            child, _, anomalies = machine.step(before, t)
            stack.append((child, bits | bits_of(anomalies), (t, count, path)))
    kinds = frozenset(witnesses)
    return Reachability(
        scenario=scenario.name,
        runtime=machine.runtime,
        kinds=kinds,
        witnesses=tuple(sorted(witnesses.items(), key=lambda item: item[0].value)),
        states=len(seen),
    )


def _unreached(
    space: Space,
    seen: set[Any],
    recorded: int,
    witnesses: dict[AnomalyKind, Schedule],
    max_states: int,
    spent: BudgetExceeded | None,
    meter: Meter | None,
) -> ExplorationStopped:
    """What a reachability search that ran out of budget had found: the kinds recorded on
    the way to the states it saw (with a schedule for those some finished run showed)."""
    stopped = _stopped(space, {}, max_states, spent, meter, None)
    stopped.states = len(seen)
    stopped.kinds = frozenset(_kinds(recorded))
    stopped.counting = False
    stopped.at_least, stopped._estimate = 0, None
    if meter is not None and seen:
        stopped.seconds_per_state = meter.elapsed / len(seen)
    stopped.witnesses = tuple(sorted(witnesses.items(), key=lambda kv: kv[0].value))
    return stopped


def _path_schedule(machine: Machine, path: Any) -> Schedule:
    runs: list[tuple[str, int]] = []
    while path is not None:
        t, count, path = path
        runs.append((machine.thread_names[t], count))
    return Schedule.from_runs(reversed(runs))
