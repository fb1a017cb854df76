"""The one reading of a scenario's ``expect:`` claims, and verdicts as values.

Every command that judges a scenario (``check``, ``explore``, ``search``, ``run``, the
story, ``compare``, ``play``) reads its claims here, so that no two commands can read
one file differently. The rule (docs/cli.md, "Claims"):

* a runtime named in ``expect:`` is held to its list: the anomaly kinds that some
  interleaving reaches must be exactly those;
* the file's own ``runtime:``, when ``expect:`` does not name it, is held to "no
  anomaly" (a file without ``expect:`` says its program is correct);
* any other runtime that ``expect:`` does not name is not checked.

A :class:`Verdict` holds one claim against what was found, and says on what
:class:`Basis`: one run or a search can show that an anomaly happens but never that one
cannot; every interleaving counted, or every reachable state searched, shows both.
Verdicts are data: the renderers (``refsim.render``) turn them into sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from refsim.budget import Meter
from refsim.explore import ExplorationStopped, Reachability, explore, reachable
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.trace import Exploration, RunResult

__all__ = [
    "Basis",
    "Checked",
    "Claim",
    "Verdict",
    "Witness",
    "agrees",
    "check",
    "claim",
    "held",
    "judge_exploration",
    "judge_found",
    "judge_nothing_found",
    "judge_reachability",
    "judge_run",
    "merge",
    "nothing_to_find",
    "sorted_kinds",
]


def sorted_kinds(kinds: Iterable[AnomalyKind]) -> tuple[AnomalyKind, ...]:
    """Anomaly kinds in their sorted (alphabetical) order."""
    return tuple(sorted(set(kinds), key=lambda k: k.value))


@dataclass(frozen=True, slots=True)
class Claim:
    """What one runtime is held to."""

    runtime: Runtime
    kinds: frozenset[AnomalyKind] | None
    """The anomaly kinds the runtime must reach, exactly; ``None``: not checked."""
    named: bool
    """True when ``expect:`` names the runtime; False for the file's own runtime held
    to "no anomaly" without being named, and for a runtime that is not checked."""

    @property
    def checked(self) -> bool:
        return self.kinds is not None

    @property
    def implicit(self) -> bool:
        """The file's own runtime, held to "no anomaly" although ``expect:`` does not name it."""
        return self.kinds is not None and not self.named


def claim(scenario: Scenario, runtime: Runtime) -> Claim:
    """What ``runtime`` is held to in ``scenario`` (the rule in the module docstring)."""
    for named, kinds in scenario.expect:
        if named is runtime:
            return Claim(runtime, frozenset(kinds), named=True)
    if runtime is scenario.runtime:
        return Claim(runtime, frozenset(), named=False)
    return Claim(runtime, None, named=False)


def held(scenario: Scenario) -> tuple[Claim, ...]:
    """Every claim a check holds: the runtimes ``expect:`` names, in file order, then the
    file's own runtime when it is not among them."""
    claims = [claim(scenario, runtime) for runtime, _ in scenario.expect]
    if all(c.runtime is not scenario.runtime for c in claims):
        claims.append(claim(scenario, scenario.runtime))
    return tuple(claims)


class Basis(Enum):
    """What a verdict rests on, which decides what it can show."""

    EXPLORED = "explored"
    """Every interleaving counted: a claimed kind that no interleaving reaches is a finding."""
    SEARCHED = "searched"
    """Every reachable state searched, without counting interleavings: as complete."""
    PARTIAL = "partial"
    """A sample of runs, or only the interleavings within a preemption bound."""
    RUN = "run"
    """One run: one interleaving."""
    SEARCH = "search"
    """A Hypothesis search that found nothing (a search that finds a run is judged on it)."""

    @property
    def complete(self) -> bool:
        return self in (Basis.EXPLORED, Basis.SEARCHED)


@dataclass(frozen=True, slots=True)
class Witness:
    """A schedule that reaches an anomaly kind the claim does not allow."""

    kind: AnomalyKind
    schedule: Schedule
    preemptions: int | None
    """``None`` when found by the reachability search, which does not minimise them."""
    process: str | None
    """The process the schedule is a run of, in a file with several; else ``None``."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One claim held against what was found."""

    claim: Claim
    basis: Basis
    found: frozenset[AnomalyKind]
    """The anomaly kinds found: reachable (complete bases), or seen."""
    witnesses: tuple[Witness, ...] = ()
    """One per unexpected kind, in sorted order (empty for a runtime not checked)."""

    @property
    def runtime(self) -> Runtime:
        return self.claim.runtime

    @property
    def unexpected(self) -> frozenset[AnomalyKind]:
        """Found, but not allowed by the claim."""
        return _unexpected(self.claim, self.found)

    @property
    def missing(self) -> frozenset[AnomalyKind]:
        """Claimed, but shown to be unreachable (complete bases only)."""
        kinds = self.claim.kinds
        if kinds is None or not self.basis.complete:
            return frozenset()
        return kinds - self.found

    @property
    def unshown(self) -> frozenset[AnomalyKind]:
        """Claimed, and not found by an incomplete basis: neither shown nor refuted."""
        kinds = self.claim.kinds
        if kinds is None or self.basis.complete:
            return frozenset()
        return kinds - self.found

    @property
    def holds(self) -> bool:
        """True when nothing contradicts the claim (always, for a runtime not checked)."""
        return not self.unexpected and not self.missing


def _unexpected(c: Claim, found: frozenset[AnomalyKind]) -> frozenset[AnomalyKind]:
    return frozenset() if c.kinds is None else found - c.kinds


def _witnesses_from(
    unexpected: frozenset[AnomalyKind],
    candidates: Sequence[tuple[AnomalyKind, Schedule, int | None]],
    process: str | None,
) -> tuple[Witness, ...]:
    return tuple(
        Witness(kind, schedule, preemptions, process)
        for kind, schedule, preemptions in candidates
        if kind in unexpected
    )


def judge_exploration(scenario: Scenario, exploration: Exploration) -> Verdict:
    """The claim for the exploration's runtime, held against its outcome table. Each
    unexpected kind's witness is the cheapest outcome showing it (fewest preemptions,
    then fewest steps)."""
    c = claim(scenario, exploration.runtime)
    found = exploration.kinds
    complete = exploration.exhaustive and exploration.preemption_bound is None
    candidates = []
    for kind in sorted_kinds(found):
        showing = [s for s in exploration.outcomes if kind in s.outcome.anomalies]
        best = min(showing, key=lambda s: (s.preemptions, len(s.witness)))
        candidates.append((kind, best.witness, best.preemptions))
    witnesses = _witnesses_from(_unexpected(c, found), candidates, scenario.part_of)
    return Verdict(c, Basis.EXPLORED if complete else Basis.PARTIAL, found, witnesses)


def judge_reachability(scenario: Scenario, reach: Reachability) -> Verdict:
    """The claim for ``reach``'s runtime, held against the kinds every reachable state
    shows (complete, without counts)."""
    c = claim(scenario, reach.runtime)
    candidates = [(kind, schedule, None) for kind, schedule in reach.witnesses]
    witnesses = _witnesses_from(_unexpected(c, reach.kinds), candidates, scenario.part_of)
    return Verdict(c, Basis.SEARCHED, reach.kinds, witnesses)


def judge_run(scenario: Scenario, result: RunResult) -> Verdict:
    """The claim for the run's runtime, held against what this one run recorded."""
    c = claim(scenario, result.runtime)
    found = result.anomaly_kinds
    candidates = [(kind, result.schedule, result.preemptions) for kind in sorted_kinds(found)]
    witnesses = _witnesses_from(_unexpected(c, found), candidates, scenario.part_of)
    return Verdict(c, Basis.RUN, found, witnesses)


def agrees(scenario: Scenario, result: RunResult) -> bool:
    """True when the run's anomalies are all allowed by the scenario's claim for its runtime.
    This decides a run's exit status, 0 or 1."""
    return judge_run(scenario, result).holds


def judge_found(
    scenario: Scenario, runtime: Runtime, found: Iterable[AnomalyKind], *, complete: bool
) -> Verdict:
    """The claim for ``runtime``, held against the anomaly kinds some interleaving was
    found to reach, without witnesses: every reachable state searched (``complete``), or a
    sample of runs (``refsim compare``'s rows)."""
    basis = Basis.SEARCHED if complete else Basis.PARTIAL
    return Verdict(claim(scenario, runtime), basis, frozenset(found))


def judge_nothing_found(scenario: Scenario, runtime: Runtime) -> Verdict:
    """The claim for ``runtime`` after a search that found no anomaly."""
    return Verdict(claim(scenario, runtime), Basis.SEARCH, frozenset())


def nothing_to_find(scenario: Scenario, runtime: Runtime, want: AnomalyKind | None) -> bool:
    """Whether the claims say a search under ``runtime`` for ``want`` (``None``: any
    anomaly) has nothing to find: the runtime is not checked, or is held to no anomaly, or
    ``want`` is not among the kinds it is held to. ``refsim search`` finding nothing then
    agrees with the claims."""
    kinds = claim(scenario, runtime).kinds
    if not kinds:
        return True
    return want is not None and want not in kinds


def merge(verdicts: Sequence[Verdict]) -> Verdict:
    """One claim held against a file's processes together. Processes share no memory, so
    a kind is found when some process finds it; the basis is as weak as the weakest."""
    first = verdicts[0]
    found = frozenset().union(*(v.found for v in verdicts))
    by_kind: dict[AnomalyKind, Witness] = {}
    for v in verdicts:
        for witness in v.witnesses:
            by_kind.setdefault(witness.kind, witness)
    bases = [v.basis for v in verdicts]
    basis = next((b for b in bases if not b.complete), first.basis)
    if basis.complete and Basis.SEARCHED in bases:
        basis = Basis.SEARCHED
    witnesses = tuple(by_kind[k] for k in sorted_kinds(by_kind))
    return Verdict(first.claim, basis, found, witnesses)


# -- checking a file ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checked:
    """One claim of one file (``refsim check``): what decided it, and its verdict."""

    claim: Claim
    found: tuple[Exploration | Reachability, ...] | None
    """Per process (one, unless the file has ``processes:``): the exact exploration; or,
    when there are too many states to count, the reachability search. ``None`` when even
    that ran out of budget."""
    verdict: Verdict | None
    """``None`` when ``found`` is."""
    stopped: ExplorationStopped | None = None
    """When ``found`` is ``None``: the budget that stopped the reachability search, and
    what it had seen by then."""


SEARCH_SHARE = 0.5
"""Of the time a claim may take, the part the exact count gets when a reachability search
may still be needed after it."""


def _check_part(
    part: Scenario, runtime: Runtime, max_states: int, meter: Meter | None
) -> tuple[Exploration | Reachability, Verdict] | ExplorationStopped:
    """One process's part of a claim: by the exact exploration, or by the reachability
    search when the count runs out of budget (it answers the same question, which kinds
    some interleaving reaches, with fewer states); what stopped the search when both run
    out."""
    try:
        first = None if meter is None else meter.share(SEARCH_SHARE)
        exploration = explore(part, runtime=runtime, max_states=max_states, meter=first)
    except ExplorationStopped:
        try:
            reach = reachable(part, runtime=runtime, max_states=max_states, meter=meter)
        except ExplorationStopped as stopped:
            return stopped
        return reach, judge_reachability(part, reach)
    return exploration, judge_exploration(part, exploration)


def check(
    scenario: Scenario,
    *,
    max_states: int,
    meter: Meter | None = None,
) -> tuple[Checked, ...]:
    """Every claim :func:`held` lists, checked process by process; ``meter`` bounds the
    time and memory, shared fairly among the claims (a claim that finishes early leaves
    its time to the next)."""
    checked = []
    claims = held(scenario)
    for index, c in enumerate(claims):
        share = None if meter is None else meter.fair(len(claims) - index)
        parts = [_check_part(part, c.runtime, max_states, share) for part in scenario.per_process()]
        stopped = next((p for p in parts if isinstance(p, ExplorationStopped)), None)
        if stopped is not None:
            checked.append(Checked(c, None, None, stopped))
            continue
        done = [p for p in parts if not isinstance(p, ExplorationStopped)]
        found = tuple(p[0] for p in done)
        checked.append(Checked(c, found, merge([p[1] for p in done])))
    return tuple(checked)
