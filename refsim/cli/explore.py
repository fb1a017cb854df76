"""``refsim explore FILE`` (the outcome table) and ``refsim check FILE...`` (the claims).

Both drive :func:`refsim.explore.explore`; this module only parses options, prints, and
turns the findings into exit statuses. The claims semantics of ``check`` (docs/explore.md):
for each runtime listed under ``expect:``, the set of anomaly kinds that *some*
interleaving reaches must equal the listed set.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    EXIT_USAGE,
    Command,
    UsageError,
    add_limits,
    add_process,
    add_runtime,
    console,
    load,
    one_process,
    print_scenario_error,
    whole,
    write_json,
)
from refsim.errors import ScenarioError
from refsim.explore import (
    DEFAULT_MAX_STATES,
    Reachability,
    StateBudgetExceeded,
    explore,
    reachable,
)
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule, count_text
from refsim.report import and_words, plural, replay_line, short_schedule
from refsim.trace import Exploration

__all__ = ["CHECK", "EXPLORE", "exploration_json"]

PROGRESS_DELAY = 1.0
"""Seconds an exploration runs before a progress bar appears (on a terminal only)."""


# -- options ------------------------------------------------------------------------------


def _add_budget(p: argparse.ArgumentParser, *, beyond: str) -> None:
    p.add_argument(
        "--max-states", type=whole(), default=DEFAULT_MAX_STATES, metavar="N",
        help=f"the most distinct states the exact count may visit (default "
        f"{DEFAULT_MAX_STATES:,}); beyond it: {beyond}",
    )  # fmt: skip


def _explore_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    add_runtime(p)
    add_process(p)
    p.add_argument(
        "--preemption-bound", type=whole(least=0), default=None, metavar="K",
        help="count only the interleavings with at most K preemptions",
    )  # fmt: skip
    _add_budget(p, beyond="exit status 3, or a sample with --sample")
    p.add_argument(
        "--sample", type=whole(), default=None, metavar="N",
        help="if the state budget runs out, show a table sampled from N seeded runs of "
        "the fair random scheduler instead (clearly marked: not exact)",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="with --sample: run i uses seed N+i (default 0), as `refsim run --seed` does",
    )  # fmt: skip
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (shape: docs/cli.md)"
    )
    add_limits(p)


def _check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", metavar="FILE", nargs="+", help="scenario files, or bundled scenarios' names"
    )
    _add_budget(p, beyond="the claim's verdict is unknown, exit status 3")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_limits(p)


# -- progress -------------------------------------------------------------------------------


class _ProgressBar:
    """The ``progress`` callback of an exploration: a spinner with the states counted so
    far, on ``err`` only when it is a terminal and only once the exploration has run for
    ``delay`` seconds (short ones show nothing). Use as a context manager."""

    def __init__(self, err: TextIO, what: str, *, delay: float = PROGRESS_DELAY) -> None:
        self.err = err
        self.what = what
        self.delay = delay
        self.start = time.monotonic()
        self.bar: Progress | None = None
        self.task: Any = None
        self.enabled = err.isatty()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.start < self.delay:
                return
            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.completed:,} {task.fields[unit]}"),
                TimeElapsedColumn(),
                console=Console(file=self.err),
                transient=True,
            )
            self.task = self.bar.add_task(self.what, total=None, unit="states")
            self.bar.start()
        self.bar.update(self.task, completed=done)

    def sampling(self) -> None:
        """The exact count gave up: from now on ``done`` counts sampled runs."""
        if self.bar is not None:
            self.bar.update(self.task, completed=0, unit="runs sampled")

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- words ----------------------------------------------------------------------------------


def percent(value: Fraction) -> str:
    """A share as a percentage with one decimal, never rounding a possible outcome to 0%
    or an uncertain one to 100%."""
    if value == 0 or value == 1:
        return f"{int(value * 100)}%"
    if value < Fraction(1, 1000):
        return "<0.1%"
    if value > Fraction(999, 1000):
        return ">99.9%"
    return f"{float(value) * 100:.1f}%"


COUNT_DIGITS = 16
"""Counts with more digits are shown in a table as ``5.72 × 10^79`` (exact in the JSON)."""


def count_cell(n: int) -> str:
    """An exact count for a table cell: with separators, or rounded once it is too long to
    read (or to fit beside the outcome it counts)."""
    return count_text(n, COUNT_DIGITS)


def _kinds_words(kinds: frozenset[AnomalyKind]) -> str:
    names = sorted(k.value for k in kinds)
    return and_words(names) if names else "no anomaly"


# -- claims ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A claim about one runtime, held against an exploration."""

    runtime: Runtime
    claimed: frozenset[AnomalyKind]
    implicit: bool
    """True when the file has no ``expect:``: the claim is "no anomaly" for its runtime."""
    reachable: frozenset[AnomalyKind]
    complete: bool
    """True when every interleaving was counted, so an unreachable kind is a finding."""
    witnesses: tuple[tuple[AnomalyKind, Schedule, int | None, str | None], ...]
    """For each reachable kind the claim does not list: a schedule reaching it, its
    preemptions (``None``: found by the reachability search, not the fewest) and the
    process it is a schedule of (``None`` in a file with one process)."""

    @property
    def missing(self) -> frozenset[AnomalyKind]:
        return self.claimed - self.reachable if self.complete else frozenset()

    @property
    def holds(self) -> bool:
        return not self.witnesses and not self.missing


def _claims(scenario: Scenario) -> list[tuple[Runtime, frozenset[AnomalyKind], bool]]:
    """The runtimes claimed by ``expect:``, in file order; without any claim, "no anomaly"
    under the scenario's own runtime (what `refsim run` assumes)."""
    if not scenario.expect:
        return [(scenario.runtime, frozenset(), True)]
    return [(runtime, frozenset(kinds), False) for runtime, kinds in scenario.expect]


def _verdict(
    scenario: Scenario, exploration: Exploration, claimed: frozenset[AnomalyKind] | None
) -> _Verdict:
    implicit = claimed is None
    claimed = frozenset() if claimed is None else claimed
    reachable = exploration.kinds
    witnesses = []
    for kind in sorted(reachable - claimed, key=lambda k: k.value):
        showing = [s for s in exploration.outcomes if kind in s.outcome.anomalies]
        best = min(showing, key=lambda s: (s.preemptions, len(s.witness)))
        witnesses.append((kind, best.witness, best.preemptions, scenario.part_of))
    complete = exploration.exhaustive and exploration.preemption_bound is None
    return _Verdict(exploration.runtime, claimed, implicit, reachable, complete, tuple(witnesses))


def _verdict_line(v: _Verdict) -> Text:
    """One sentence: does the exploration agree with the scenario's claim for its runtime?"""
    runtime = v.runtime
    line = Text()
    if v.holds and not v.complete:
        line.append(
            f"nothing beyond the scenario's claims for {runtime} was found (only a complete "
            f"exploration can show that each claimed kind happens)."
        )
    elif v.holds and v.implicit:
        line.append(f"no anomaly can happen under {runtime} (the scenario makes no claim for it).")
    elif v.holds and not v.claimed:
        line.append(f"as the scenario claims, no anomaly can happen under {runtime}.")
    elif v.holds:
        line.append(
            f"as the scenario claims, {_kinds_words(v.claimed)} can happen under {runtime}, "
            f"and nothing else can."
        )
    if v.holds:
        return line
    line.append("unexpected: ", style="bold red")
    sentences = []
    if v.witnesses:
        found = frozenset(kind for kind, _, _, _ in v.witnesses)
        if v.implicit:
            claim = f"makes no claim for {runtime}"
        elif v.claimed:
            claim = f"claims only {_kinds_words(v.claimed)} for {runtime}"
        else:
            claim = f"claims no anomaly can happen under {runtime}"
        verb = "is" if len(found) == 1 else "are"
        sentences.append(f"the scenario {claim}, but {_kinds_words(found)} {verb} reachable")
    if v.missing:
        them = "it" if len(v.missing) == 1 else "them"
        sentences.append(
            f"the scenario claims {_kinds_words(v.missing)} can happen under {runtime}, but "
            f"no interleaving reaches {them}"
        )
    line.append("; and ".join(sentences) + ".")
    return line


# -- explore --------------------------------------------------------------------------------


def _exact(value: Fraction | None) -> str | None:
    return None if value is None else str(value)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def exploration_json(exploration: Exploration) -> dict[str, Any]:
    """The ``explore --json`` document: CLI.md's shape plus, per outcome, ``share``,
    ``probability`` (floats, and exact as ``"3/4"`` in ``share_exact`` and
    ``probability_exact``) and ``preemptions``; and ``preemption_bound``, ``states``,
    ``bound_probability`` and ``seed`` (sampled tables)."""
    return {
        "scenario": exploration.scenario,
        "runtime": exploration.runtime.value,
        "exhaustive": exploration.exhaustive,
        "interleavings": exploration.interleavings,
        "preemption_bound": exploration.preemption_bound,
        "bound_probability": _float(exploration.bound_probability),
        "bound_probability_exact": _exact(exploration.bound_probability),
        "states": exploration.states,
        "seed": exploration.seed,
        "outcomes": [
            {
                "anomalies": [k.value for k in s.outcome.anomalies],
                "final": dict(s.outcome.final),
                "count": s.count,
                "share": float(s.share),
                "share_exact": str(s.share),
                "probability": _float(s.probability),
                "probability_exact": _exact(s.probability),
                "witness": str(s.witness),
                "preemptions": s.preemptions,
            }
            for s in exploration.outcomes
        ],
    }


def _headline(exploration: Exploration) -> str:
    bound = exploration.preemption_bound
    if not exploration.exhaustive:
        seed = exploration.seed or 0
        runs = exploration.interleavings
        return (
            f"SAMPLED, not exact: {runs:,} runs of the fair random scheduler "
            f"(seeds {seed} to {seed + runs - 1})"
        )
    if bound is not None:
        return f"exact, but only interleavings with at most {plural(bound, 'preemption')}"
    return "exact: every interleaving counted"


WITNESS_WIDTH = 40
"""The longest witness the table prints whole; longer ones end in " …"."""
OUTCOME_WIDTH = 26
"""The narrowest the outcome column gets (it wraps within it)."""
SPACED_OVER = 44
"""Outcomes longer than this may wrap at 120 columns: rows then get a blank line between."""


def _table(exploration: Exploration, width: int) -> Table:
    """The outcome table for a console ``width`` columns wide."""
    exact = exploration.exhaustive
    # Numbers and witnesses (compact schedules) never wrap; a long outcome wraps at its
    # " · " or between anomaly kinds instead, and then a blank line between rows keeps a
    # wrapped tail ("freed") from reading as an outcome of its own. A witness longer than
    # WITNESS_WIDTH is cut short (the JSON has it whole), so the outcome column always
    # keeps room to be read.
    words = [str(s.outcome) for s in exploration.outcomes]
    spaced = max(map(len, words), default=0) > SPACED_OVER
    counts = [count_cell(s.count) for s in exploration.outcomes]
    # On a narrow terminal rich squeezes the one column that may wrap, the outcome, down to
    # nothing. So the witnesses are cut shorter first (never below 12 characters), and an
    # outcome that still has no room breaks at its " · ", the final state on a line of its
    # own.
    numbers = max(map(len, counts), default=0), len("interleavings" if exact else "runs")
    fixed = max(numbers) + len("share") + len("fair random") * exact + len("preemptions")
    gaps = 2 * (4 + exact)
    if max(map(len, words), default=0) > width - fixed - gaps - 12:
        words = [w.replace(" · ", "\n· ") for w in words]
        spaced = True
    longest = max((len(line) for w in words for line in w.split("\n")), default=0)
    outcome = min(OUTCOME_WIDTH, longest)
    witness_width = max(12, min(WITNESS_WIDTH, width - fixed - gaps - outcome))
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("outcome", min_width=outcome)
    for name in ("interleavings" if exact else "runs", "share") + (("fair random",) * exact):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("witness", no_wrap=True)
    table.add_column("preemptions", justify="right", no_wrap=True, min_width=11)
    for i, s in enumerate(exploration.outcomes):
        cells = [words[i], counts[i], percent(s.share)]
        if exact:
            assert s.probability is not None
            cells.append(percent(s.probability))
        cells += [short_schedule(str(s.witness), witness_width), str(s.preemptions)]
        if spaced and i:
            table.add_row()  # rich's `leading` needs a box; an empty row is the same
        table.add_row(*cells)
    return table


def _footer(exploration: Exploration) -> list[str]:
    n = exploration.interleavings
    runtime = exploration.runtime
    bound = exploration.preemption_bound
    if not exploration.exhaustive:
        return [
            f"{count_text(n)} sampled runs under runtime {runtime}. The state budget "
            f"(--max-states) ran out before every interleaving could be counted, so this is "
            f"a sample: an outcome may be missing, and each share only estimates the fair "
            f"random scheduler's probability (not the share of interleavings). Raise "
            f"--max-states for the exact table.",
            "witness: the sampled run reaching the outcome with the fewest preemptions.",
        ]
    states = plural(exploration.states, "distinct state")
    if bound is None:
        lines = [
            f"{count_text(n)} interleavings in all, through {states}, under runtime {runtime}."
        ]
    else:
        within = exploration.bound_probability
        assert within is not None
        lines = [
            f"{count_text(n)} interleavings with at most {plural(bound, 'preemption')}, through "
            f"{states}, under runtime {runtime}; interleavings with more are not counted "
            f"(raise --preemption-bound, or leave it out, to count them).",
            f"A fair random run stays within the bound with probability {percent(within)}; "
            f"the fair random column is conditional on that.",
        ]
    lines += [
        "share counts every interleaving once; fair random is the probability that a "
        "scheduler picking each enabled thread with equal chance at each step ends there. "
        "They measure different things, so they differ; real timing differs again.",
        "witness: a schedule reaching the outcome with the fewest preemptions (then the "
        "fewest steps).",
    ]
    return lines


def print_exploration(
    out: Console, scenario: Scenario, exploration: Exploration, *, file: str
) -> _Verdict:
    """The outcome table with its headline, footnotes, verdict and a replay command."""
    head = Text()
    head.append(scenario.name, style="bold")
    if scenario.part_of is not None:
        head.append(f"  process {scenario.part_of}")
    head.append(f"  runtime {exploration.runtime}  ·  {_headline(exploration)}")
    out.print(head)
    out.print()
    out.print(_table(exploration, out.width))
    out.print()
    for line in _footer(exploration):
        out.print(line)
    verdict = _verdict(scenario, exploration, scenario.expected(exploration.runtime))
    out.print()
    out.print(_verdict_line(verdict))
    # The witness worth replaying: one that breaks a claim, else the cheapest anomaly.
    if verdict.witnesses:
        worst = verdict.witnesses[0][1]
    else:
        worst = min(
            exploration.outcomes,
            key=lambda s: (not s.outcome.anomalies, s.preemptions, len(s.witness)),
        ).witness
    out.print()
    replay = replay_line(file, str(worst), exploration.runtime, scenario)
    out.print(Text("replay a witness: ", style="bold") + Text(replay))
    return verdict


def _execute_explore(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    scenario, file = load(args.file, args)
    scenario = one_process(scenario, args, file)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    if args.sample is not None and args.preemption_bound is not None:
        raise UsageError(
            "--sample cannot be combined with --preemption-bound: the fair random "
            "scheduler's runs preempt freely, so a sample cannot respect the bound"
        )
    with _ProgressBar(err, f"exploring {scenario.name} under {runtime}") as bar:
        try:
            exploration = explore(
                scenario,
                runtime=runtime,
                preemption_bound=args.preemption_bound,
                max_states=args.max_states,
                sample=args.sample,
                seed=args.seed,
                progress=bar,
            )
        except StateBudgetExceeded as error:
            err.write(
                f"error: {args.file}: under {error.runtime}, the exact count needs more than "
                f"{error.max_states:,} distinct states (the state budget, --max-states).\n"
                f"    Raise --max-states (each state costs about 2 KB of memory), bound "
                f"the preemptions with --preemption-bound K, or pass "
                f"--sample N for a table sampled from N random runs (not exact).\n"
            )
            if args.json:
                # Still one document on stdout, saying that there is no table, and why.
                write_json(out, {
                    "scenario": scenario.name, "runtime": runtime.value, "exhaustive": False,
                    "interleavings": None, "outcomes": [], "agrees": None,
                    "budget_exceeded": {"max_states": error.max_states},
                })  # fmt: skip
            return EXIT_BUDGET
    if args.json:
        document = exploration_json(exploration)
        claimed = scenario.expected(runtime)
        document["agrees"] = _verdict(scenario, exploration, claimed).holds
        write_json(out, document)
        return EXIT_OK if document["agrees"] else EXIT_DISAGREES
    verdict = print_exploration(console(out), scenario, exploration, file=args.file)
    return EXIT_OK if verdict.holds else EXIT_DISAGREES


# -- check ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    """One claim of one file: its verdict, or the budget that stopped it."""

    runtime: Runtime
    claimed: frozenset[AnomalyKind]
    implicit: bool
    found: tuple[Exploration | Reachability, ...] | None
    """Per process (one, unless the file has ``processes:``): the exact exploration; or,
    when there are too many states to count, the reachability search. ``None`` when even
    that ran out of states."""
    verdict: _Verdict | None


def _reach_verdict(
    scenario: Scenario, reach: Reachability, claimed: frozenset[AnomalyKind], implicit: bool
) -> _Verdict:
    witnesses = tuple(
        (k, w, None, scenario.part_of) for k, w in reach.witnesses if k not in claimed
    )
    return _Verdict(reach.runtime, claimed, implicit, reach.kinds, True, witnesses)


def _merge(verdicts: list[_Verdict]) -> _Verdict:
    """The claim held against a file's processes together: they share no memory, so a
    kind is reachable when it is reachable in some process."""
    first = verdicts[0]
    reachable = frozenset().union(*(v.reachable for v in verdicts))
    witnesses: dict[AnomalyKind, tuple[AnomalyKind, Schedule, int | None, str | None]] = {}
    for v in verdicts:
        for witness in v.witnesses:
            witnesses.setdefault(witness[0], witness)
    return _Verdict(
        first.runtime,
        first.claimed,
        first.implicit,
        reachable,
        all(v.complete for v in verdicts),
        tuple(witnesses[k] for k in sorted(witnesses, key=lambda k: k.value)),
    )


def _check_part(
    scenario: Scenario,
    runtime: Runtime,
    claimed: frozenset[AnomalyKind],
    implicit: bool,
    max_states: int,
    progress: Callable[[int], None] | None,
) -> tuple[Exploration | Reachability, _Verdict] | None:
    """One process's part of a claim: by the exact exploration, or by the reachability
    search when the count needs more than ``max_states`` states (it answers the same
    question: which kinds some interleaving reaches); ``None`` when both run out."""
    try:
        exploration = explore(scenario, runtime=runtime, max_states=max_states, progress=progress)
    except StateBudgetExceeded:
        try:
            reach = reachable(scenario, runtime=runtime, max_states=max_states, progress=progress)
        except StateBudgetExceeded:
            return None
        return reach, _reach_verdict(scenario, reach, claimed, implicit)
    return exploration, _verdict(scenario, exploration, None if implicit else claimed)


def _check_file(
    scenario: Scenario, max_states: int, progress: Callable[[int], None] | None
) -> list[_Checked]:
    """Each claim, checked process by process (see :func:`_check_part`)."""
    checked = []
    for runtime, claimed, implicit in _claims(scenario):
        parts = [
            _check_part(sub, runtime, claimed, implicit, max_states, progress)
            for sub in scenario.per_process()
        ]
        if any(part is None for part in parts):
            checked.append(_Checked(runtime, claimed, implicit, None, None))
            continue
        done = [part for part in parts if part is not None]
        found = tuple(part[0] for part in done)
        verdict = _merge([part[1] for part in done])
        checked.append(_Checked(runtime, claimed, implicit, found, verdict))
    return checked


def _claim_words(c: _Checked) -> str:
    kinds = ", ".join(sorted(k.value for k in c.claimed)) or "no anomaly"
    return f"{kinds} (no expect:, so no anomaly)" if c.implicit else kinds


def _how(found: tuple[Exploration | Reachability, ...], scenario: Scenario) -> str:
    def one(part: Exploration | Reachability) -> str:
        if isinstance(part, Exploration):
            return plural(part.interleavings, "interleaving")
        return f"too many interleavings to count; all reachable states searched: {part.states:,}"

    if len(found) == 1:
        return one(found[0])
    names = [name for name, _ in scenario.process_groups()]
    return "process by process: " + "; ".join(
        f"{name}, {one(part)}" for name, part in zip(names, found, strict=True)
    )


def _print_checked(
    out: Console, file: str, scenario: Scenario, checked: list[_Checked], max_states: int
) -> None:
    head = Text(file, style="bold")
    head.append(f"  ({scenario.name})" if scenario.name != file else "")
    out.print(head)
    width = max(len(_claim_words(c)) for c in checked)
    for c in checked:
        line = Text(f"  {c.runtime.value:<7} claims {_claim_words(c):<{width}}  ")
        if c.verdict is None or c.found is None:
            line.append("unknown", style="bold yellow")
            line.append(f": more than {max_states:,} distinct states (raise --max-states)")
            out.print(line)
            continue
        if c.verdict.holds:
            line.append("holds", style="bold green")
            line.append(f"  ({_how(c.found, scenario)})")
            out.print(line)
            continue
        line.append("FAILS", style="bold red")
        out.print(line)
        indent = " " * 4
        for kind, witness, preemptions, process in c.verdict.witnesses:
            how = "" if preemptions is None else f" ({plural(preemptions, 'preemption')})"
            where = "" if process is None else f" in process {process}"
            out.print(f"{indent}{kind.value} is reachable{where}, e.g. by {witness}{how}:")
            replay = _witness_replay(file, scenario, str(witness), c.runtime, process)
            out.print(f"{indent}  {replay}")
        for kind in sorted(c.verdict.missing, key=lambda k: k.value):
            out.print(f"{indent}{kind.value} is claimed, but no interleaving reaches it")


def _witness_replay(
    file: str, scenario: Scenario, witness: str, runtime: Runtime, process: str | None
) -> str:
    part = scenario if process is None else scenario.process(process)
    return replay_line(file, witness, runtime, part, always=True)


def _checked_json(file: str, checked: list[_Checked], scenario: Scenario) -> list[Any]:
    claims = []
    for c in checked:
        entry: dict[str, Any] = {
            "runtime": c.runtime.value,
            "claimed": sorted(k.value for k in c.claimed),
            "implicit": c.implicit,
        }
        if c.verdict is None or c.found is None:
            entry.update(holds=None, budget_exceeded=True)
        else:
            v = c.verdict
            exact = all(isinstance(part, Exploration) for part in c.found)
            interleavings = [
                part.interleavings if isinstance(part, Exploration) else None for part in c.found
            ]
            entry.update(
                holds=v.holds,
                budget_exceeded=False,
                reachable=sorted(k.value for k in v.reachable),
                missing=sorted(k.value for k in v.missing),
                unexpected=[
                    {
                        "kind": kind.value,
                        "witness": str(witness),
                        "preemptions": preemptions,
                        "process": process,
                        "replay": _witness_replay(file, scenario, str(witness), c.runtime, process),
                    }
                    for kind, witness, preemptions, process in v.witnesses
                ],
                interleavings=interleavings[0] if len(c.found) == 1 else None,
                states=sum(part.states for part in c.found),
                counted=exact,
            )
            if len(c.found) > 1:
                names = [name for name, _ in scenario.process_groups()]
                entry["processes"] = [
                    {"process": name, "interleavings": n, "states": part.states}
                    for name, n, part in zip(names, interleavings, c.found, strict=True)
                ]
        claims.append(entry)
    return claims


def _execute_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rich_out = console(out)
    bad = failed = unknown = total = 0
    files: list[dict[str, Any]] = []
    for index, name in enumerate(args.files):
        try:
            scenario, _ = load(name, args)
        except ScenarioError as error:
            bad += 1
            print_scenario_error(error, err)
            files.append({"file": name, "scenario": None, "error": str(error), "claims": []})
            continue
        with _ProgressBar(err, f"checking {scenario.name}") as bar:
            checked = _check_file(scenario, args.max_states, bar)
        total += len(checked)
        failed += sum(1 for c in checked if c.verdict is not None and not c.verdict.holds)
        unknown += sum(1 for c in checked if c.verdict is None)
        if args.json:
            claims = _checked_json(name, checked, scenario)
            files.append({"file": name, "scenario": scenario.name, "error": None, "claims": claims})
        else:
            if index:
                rich_out.print()
            _print_checked(rich_out, name, scenario, checked, args.max_states)
    status = (
        EXIT_USAGE if bad else EXIT_DISAGREES if failed else EXIT_BUDGET if unknown else EXIT_OK
    )
    if args.json:
        write_json(out, {"ok": status == EXIT_OK, "files": files})
        return status
    n_files = len(args.files) - bad
    if not n_files:
        rich_out.print(f"no claims checked: {plural(bad, 'file')} could not be read (see above).")
        return status
    summary = f"{plural(total, 'claim')} in {plural(n_files, 'file')}: "
    if status == EXIT_OK:
        summary += "all hold." if total != 1 else "it holds."
    else:
        parts = []
        if failed:
            parts.append(f"{failed} {'fails' if failed == 1 else 'fail'}")
        if unknown:
            parts.append(f"{unknown} unknown (the state budget ran out)")
        held = total - failed - unknown
        parts.append(f"{held} {'holds' if held == 1 else 'hold'}")
        summary += ", ".join(parts) + "."
        if bad:
            summary += f" {plural(bad, 'file')} could not be read."
    rich_out.print()
    rich_out.print(summary)
    return status


EXPLORE = Command(
    "explore",
    "count every interleaving exactly: the outcome table, with a witness for each outcome",
    _explore_arguments,
    _execute_explore,
)
CHECK = Command(
    "check",
    "verify each scenario's expect: claims by exploring every interleaving",
    _check_arguments,
    _execute_check,
)
