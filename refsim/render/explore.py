"""``refsim explore``'s outcome table and ``refsim check``'s report, on a terminal.

The outcome table fits the console: an outcome wraps (at its `` · `` first), numbers
never do, and a witness schedule is never cut: one that does not fit its column is
marked ``(1)``, ``(2)``, ... and printed whole under the table.
"""

from __future__ import annotations

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from refsim.budget import Limit
from refsim.claims import Checked, Verdict, judge_exploration, sorted_kinds
from refsim.explore import Reachability
from refsim.model import Scenario, count_text
from refsim.render.commands import replay_line, witness_replay
from refsim.render.fit import blocks, narrow
from refsim.render.text import command_line, count_cell, hanging, percent, plural, visible
from refsim.render.verdict import verdict_text
from refsim.trace import Exploration

__all__ = ["claim_words", "print_check_summary", "print_checked", "print_exploration"]

OUTCOME_WIDTH = 26
"""The outcome column's width when there is room (it wraps within it)."""
OUTCOME_LEAST = 16
"""The narrowest the outcome column gets to make room for the witnesses: a word such as
``premature-free,`` still fits."""
SPACED_OVER = 44
"""Outcomes longer than this may wrap: rows then get a blank line between them."""


def _headers(exploration: Exploration) -> list[str]:
    exact = exploration.exhaustive
    headers = ["interleavings" if exact else "runs", "share"] + ["fair random"] * exact
    return headers + ["witness", "preemptions"]


def _fixed(exploration: Exploration) -> int:
    """The columns the table's numbers, the gaps and the preemptions take, whatever the
    outcomes and witnesses."""
    headers = _headers(exploration)
    counts = [count_cell(s.count) for s in exploration.outcomes]
    numbers = [max([len(headers[0]), *map(len, counts)])] + [len(h) for h in headers[1:-2]]
    return sum(numbers) + len(headers[-1]) + 2 * len(headers)


def _table(exploration: Exploration, width: int) -> tuple[Table, list[str]]:
    """The outcome table for a console ``width`` columns wide, and the witnesses too long
    for their column, to print under it."""
    exact = exploration.exhaustive
    headers = _headers(exploration)
    words = [str(s.outcome) for s in exploration.outcomes]
    counts = [count_cell(s.count) for s in exploration.outcomes]
    witnesses = [str(s.witness) for s in exploration.outcomes]
    spaced = max(map(len, words), default=0) > SPACED_OVER
    fixed = _fixed(exploration)
    # An outcome too long for its column breaks at its " · ": the final state on a line
    # of its own, and a blank line between rows keeps that tail ("freed") from reading
    # as an outcome of its own.
    fits = min(OUTCOME_WIDTH, max(width - fixed - 12, OUTCOME_LEAST))
    if any(len(w) > fits for w in words):
        words = [w.replace(" · ", "\n· ") if len(w) > fits else w for w in words]
        spaced = True
    longest = max((len(line) for w in words for line in w.split("\n")), default=0)
    outcome = min(OUTCOME_WIDTH, longest)
    widest = max(map(len, witnesses), default=0)
    if widest + outcome + fixed <= width:
        room = widest
    elif widest + OUTCOME_LEAST + fixed <= width:
        # Narrow the outcome (it wraps) when that lets every witness fit whole.
        room = widest
        outcome = width - fixed - widest
    else:
        room = max(len("witness"), width - fixed - outcome)
        outcome = max(width - fixed - room, 1)
    notes: list[str] = []
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("outcome", min_width=outcome, max_width=outcome, overflow="fold")
    for name in headers[:-2]:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("witness", no_wrap=True)
    table.add_column("preemptions", justify="right", no_wrap=True, min_width=11)
    for i, s in enumerate(exploration.outcomes):
        cells = [words[i], counts[i], percent(s.share)]
        if exact:
            assert s.probability is not None
            cells.append(percent(s.probability))
        witness = witnesses[i]
        if len(witness) > room:
            notes.append(witness)
            witness = f"({len(notes)})"
        cells += [witness, str(s.preemptions)]
        if spaced and i:
            table.add_row()  # rich's `leading` needs a box; an empty row is the same
        table.add_row(*cells)
    return table, notes


def _stacked(console: Console, exploration: Exploration) -> None:
    """The outcome table for a console too narrow for its columns: each outcome a block
    of lines."""
    exact = exploration.exhaustive
    for i, s in enumerate(exploration.outcomes):
        if i:
            console.print()
        console.print(Text(str(s.outcome), style="bold"))
        what = "interleavings" if exact else "runs"
        line = f"{count_cell(s.count)} {what}, {percent(s.share)}"
        if s.probability is not None:
            line += f"; fair random {percent(s.probability)}"
        rows = [("", line), ("", f"witness {s.witness} ({plural(s.preemptions, 'preemption')})")]
        console.print(hanging(rows, gap=1))


def _footer(exploration: Exploration) -> list[str]:
    n = exploration.interleavings
    runtime = exploration.runtime
    bound = exploration.preemption_bound
    if not exploration.exhaustive:
        budget = _BUDGETS[exploration.budget or "states"]
        short = ""
        if exploration.requested is not None and n < exploration.requested:
            short = f" (of {exploration.requested:,} asked for: the budget ran out first)"
        return [
            f"{count_text(n)} sampled runs{short} under runtime {runtime}. The {budget[0]} "
            f"budget ({budget[1]}) ran out before every interleaving could be counted, so "
            f"this is a sample: an outcome may be missing, and each share only estimates the "
            f"fair random scheduler's probability (not the share of interleavings). Raise "
            f"{budget[1]} for the exact table.",
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
    console: Console, scenario: Scenario, exploration: Exploration, *, file: str
) -> Verdict:
    """The outcome table with its headline, footnotes, verdict and a replay command."""
    head = Text()
    head.append(scenario.name, style="bold")
    if scenario.part_of is not None:
        head.append(f"  process {scenario.part_of}")
    head.append(f"  runtime {exploration.runtime}  ·  {_headline(exploration)}")
    console.print(head)
    console.print()
    if console.width < _fixed(exploration) + len("witness") + OUTCOME_LEAST:
        _stacked(console, exploration)
    else:
        table, notes = _table(exploration, console.width)
        console.print(table)
        if notes:
            console.print()
            console.print(hanging([(f"({i})", note) for i, note in enumerate(notes, 1)], gap=1))
    console.print()
    for line in _footer(exploration):
        console.print(Text(line))
    verdict = judge_exploration(scenario, exploration)
    console.print()
    console.print(verdict_text(verdict))
    # The witness worth replaying: one that breaks a claim, else the cheapest anomaly.
    if verdict.witnesses:
        worst = verdict.witnesses[0].schedule
    else:
        worst = min(
            exploration.outcomes,
            key=lambda s: (not s.outcome.anomalies, s.preemptions, len(s.witness)),
        ).witness
    console.print()
    replay = replay_line(file, str(worst), exploration.runtime, scenario)
    command_line(console, "replay a witness: ", replay)
    return verdict


_BUDGETS = {
    "states": ("state", "--max-states"),
    "time": ("time", "--max-seconds"),
    "memory": ("memory", "--max-memory"),
}
"""A sampled table's :attr:`~refsim.trace.Exploration.budget`, in words, and its option."""


def _unknown(checked: Checked, max_states: int) -> str:
    """Why a claim is unknown: the budget that stopped its search."""
    stopped = checked.stopped
    if stopped is None or stopped.limit is Limit.STATES:
        return f"more than {max_states:,} distinct states (raise --max-states)"
    return f"the {stopped.limit.value} budget ran out (raise {stopped.limit.option})"


def _seen(checked: Checked, file: str, scenario: Scenario) -> list[RenderableType]:
    """Under an unknown claim: the kinds its search had seen when the budget ran out (each
    reachable, with a schedule where a run had shown it), a lower bound."""
    stopped = checked.stopped
    if stopped is None or not stopped.kinds:
        return []
    lines: list[RenderableType] = []
    shown = dict(stopped.witnesses)
    for kind in sorted_kinds(stopped.kinds):
        schedule = shown.get(kind)
        if schedule is None:
            lines.append(Text(f"{kind.value} is reachable (seen before the budget ran out)"))
            continue
        lines.append(Text(f"{kind.value} is reachable: {schedule}"))
        replay = witness_replay(file, scenario, str(schedule), checked.claim.runtime, None)
        lines.append(Padding(Text(visible(replay)), (0, 0, 0, 2)))
    lines.append(Text("(seen before the budget ran out: more kinds may be reachable)"))
    return lines


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


# -- check ----------------------------------------------------------------------------------


def claim_words(checked: Checked) -> str:
    """What the runtime is held to: ``claims leak, lost-update``, or for the file's own
    runtime when ``expect:`` does not name it, ``no anomaly (the file's runtime,
    no claim)``."""
    kinds = checked.claim.kinds or frozenset()
    words = ", ".join(k.value for k in sorted_kinds(kinds)) or "no anomaly"
    if checked.claim.implicit:
        return "no anomaly (the file's runtime, no claim)"
    return f"claims {words}"


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


def print_checked(
    console: Console,
    file: str,
    scenario: Scenario,
    checked: tuple[Checked, ...],
    max_states: int,
) -> None:
    """One file's claims: a line each (holds, FAILS or unknown), and under a failing one
    the witness that breaks it, as a ``refsim run`` command."""
    head = Text(visible(file), style="bold")
    head.append(f"  ({scenario.name})" if scenario.name != file else "")
    console.print(head)
    rows = []
    for c in checked:
        if c.verdict is None or c.found is None:
            verdict = Text("unknown", style="bold yellow")
            how = ""  # said on a line of its own, under the claim
        elif c.verdict.holds:
            verdict = Text("holds", style="bold green")
            how = f"({_how(c.found, scenario)})"
        else:
            verdict = Text("FAILS", style="bold red")
            how = ""
        rows.append((c, claim_words(c), verdict, how))
    # One grid per claim, so a failing claim's witnesses can follow it; the same column
    # widths in each, so the claims line up; where they cannot fit, a block of lines each.
    cells = [(c.claim.runtime.value, words, verdict.plain, how) for c, words, verdict, how in rows]
    room = console.width - 2 - 3 * 2
    widths = narrow(("",) * 4, cells, room, no_wrap=(True, False, True, False))
    for c, words, verdict, how in rows:
        row = (Text(c.claim.runtime.value), Text(words), verdict, Text(how))
        if widths is None:
            for line in blocks(None, [row]):
                console.print(Padding(line, (0, 0, 0, 2)))
        else:
            grid = Table.grid(padding=(0, 2, 0, 0))
            for width in widths:
                grid.add_column(width=width)
            grid.add_row(*row)
            console.print(Padding(grid, (0, 0, 0, 2)))
        if c.verdict is None:
            said: list[RenderableType] = [Text(_unknown(c, max_states))]
            said += _seen(c, file, scenario) if len(scenario.per_process()) == 1 else []
            for line in said:
                console.print(Padding(line, (0, 0, 0, 4)))
            continue
        if c.verdict.holds:
            continue
        lines: list[RenderableType] = []
        for w in c.verdict.witnesses:
            preemptions = (
                "" if w.preemptions is None else f" ({plural(w.preemptions, 'preemption')})"
            )
            where = "" if w.process is None else f" in process {w.process}"
            replay = witness_replay(file, scenario, str(w.schedule), c.claim.runtime, w.process)
            lines.append(Text(f"{w.kind.value} is reachable{where}: {w.schedule}{preemptions}"))
            lines.append(Padding(Text(visible(replay)), (0, 0, 0, 2)))
        for kind in sorted_kinds(c.verdict.missing):
            lines.append(Text(f"{kind.value} is claimed, but no interleaving reaches it"))
        for line in lines:
            console.print(Padding(line, (0, 0, 0, 4)))


def _summary(total: int, files: int, failed: int, unknown: int, bad: int) -> str:
    summary = f"{plural(total, 'claim')} in {plural(files, 'file')}: "
    if not (failed or unknown or bad):
        return summary + ("all hold." if total != 1 else "it holds.")
    parts = []
    if failed:
        parts.append(f"{failed} {'fails' if failed == 1 else 'fail'}")
    if unknown:
        parts.append(f"{unknown} unknown (a budget ran out)")
    held = total - failed - unknown
    parts.append(f"{held} {'holds' if held == 1 else 'hold'}")
    summary += ", ".join(parts) + "."
    return summary + (f" {plural(bad, 'file')} could not be read." if bad else "")


def print_check_summary(
    console: Console, total: int, files: int, failed: int, unknown: int, bad: int
) -> None:
    """The last line of ``refsim check``: how many claims in how many ``files`` were read,
    and how many of them fail, are unknown and hold; or, when no file could be read
    (``bad`` of them), that no claim was checked."""
    if not files:
        console.print(
            Text(f"no claims checked: {plural(bad, 'file')} could not be read (see above).")
        )
        return
    console.print()
    console.print(Text(_summary(total, files, failed, unknown, bad)))
