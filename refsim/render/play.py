"""``refsim play`` on a terminal: the board between moves, each step with its anomalies,
the odds of each move, and the ending."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from refsim.budget import Limit
from refsim.claims import judge_run
from refsim.model import AnomalyKind
from refsim.play import Board, Ending, Odds, Session, Taken
from refsim.render.commands import replay_command
from refsim.render.fit import Fit
from refsim.render.text import command_line, count_cell, hanging, percent, plural
from refsim.render.verdict import verdict_text

__all__ = [
    "HELP",
    "print_board",
    "print_ending",
    "print_goal",
    "print_intro",
    "print_odds",
    "print_steps",
    "print_taken",
]

HELP = (
    "Type a thread's name to run its next micro-step (T2*3 runs three), u to undo, ? for "
    "the odds of each move, q to quit."
)
AUTOPILOT_HELP = (
    "The autopilot plays round-robin, {quantum} a turn: an empty line lets it make one "
    "move, a lets it play to the end{stop}."
)


def print_intro(
    console: Console,
    session: Session,
    *,
    goal: AnomalyKind | None,
    reachable: bool | None,
    quantum: int | None,
    terminal: bool,
) -> None:
    """Who plays what: the scenario, the runtime, the commands, and the goal if any."""
    scenario = session.scenario
    head = Text("refsim play: ", style="bold")
    head.append(f"{scenario.name}, runtime {session.runtime}. You are the scheduler.")
    console.print(head)
    console.print(Text(HELP))
    if quantum is not None:
        stop = " (Ctrl-C stops it)" if terminal else ""
        turn = plural(quantum, "micro-step")
        console.print(Text(AUTOPILOT_HELP.format(quantum=turn, stop=stop)))
    if goal is not None:
        console.print()
        if reachable is False:
            console.print(
                Text(
                    f"Your goal, a {goal}, cannot be reached: no interleaving reaches one under "
                    f"{session.runtime}. Play on to see why."
                )
            )
        else:
            unknown = (
                " (too many interleavings to know whether one can)" if reachable is None else ""
            )
            console.print(Text(f"Your goal: make a {goal} happen{unknown}."))
    console.print()


def print_board(console: Console, session: Session, board: Board) -> None:
    """Each thread's register and next micro-step (or why it cannot run); each object's
    refcount beside its true refs; each variable and lock; where each event, semaphore,
    queue and condition stands."""
    registers = dict(board.registers)
    threads = Table(box=None, header_style="bold", pad_edge=False)
    threads.add_column("thread", no_wrap=True)
    threads.add_column("register", justify="right", no_wrap=True)
    threads.add_column("next micro-step")
    for move in board.moves:
        register = registers[move.thread]
        if move.op is None:
            nxt = Text("finished")
        elif move.enabled:
            nxt = Text(f"{move.op} · {move.micro}")
        else:
            nxt = Text(f"{move.op} · {move.micro}: cannot run, {move.reason}")
        threads.add_row(move.thread, "" if register is None else str(register), nxt)
    console.print(Fit(threads))
    if board.objects:
        objects = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("object", "refcount", "true refs"):
            objects.add_column(name, justify="left" if name == "object" else "right")
        for name, refcount, true_refs, freed in board.objects:
            count = "no count" if refcount is None else str(refcount)
            shown = f"{count} (freed)" if freed else count
            objects.add_row(name, shown, str(true_refs))
        console.print(Fit(objects))
    if board.variables:
        variables = Table(box=None, header_style="bold", pad_edge=False)
        variables.add_column("variable")
        variables.add_column("value", justify="right")
        for name, value in board.variables:
            variables.add_row(name, str(value))
        console.print(Fit(variables))
    if board.locks:
        locks = Table(box=None, header_style="bold", pad_edge=False)
        locks.add_column("lock")
        locks.add_column("held by")
        for name, holder in board.locks:
            locks.add_row(name, "free" if holder is None else holder)
        console.print(Fit(locks))
    if board.counters:
        waits = Table(box=None, header_style="bold", pad_edge=False)
        waits.add_column("waits on")
        waits.add_column("state")
        for label, words in board.counters:
            waits.add_row(label, words)
        console.print(Fit(waits))


def print_taken(console: Console, taken: Taken, *, last: Taken | None = None) -> None:
    """One step (or, to ``last``, a run of one thread's micro-steps of one kind): who ran
    what, and each anomaly the last step recorded, in its one sentence."""
    event = taken.event
    end = taken.event if last is None else last.event
    if end.step == event.step:
        line = Text(f"step {event.step}: ", style="bold")
        line.append(f"{event.thread} ran {event.op} · {event.micro}")
    else:
        line = Text(f"steps {event.step}-{end.step}: ", style="bold")
        line.append(f"{event.thread} ran {event.op} · {event.micro} ×{end.step - event.step + 1}")
    if taken.preempted:
        line.append(" (a preemption)")
    console.print(line)
    for anomaly in (taken if last is None else last).anomalies:
        _anomaly(console, anomaly.kind.value, anomaly.message)


def _groups(steps: list[Taken]) -> list[list[Taken]]:
    """``steps`` in runs to tell on one line each: consecutive quiet micro-steps of one
    thread of the same kind in the same op; a step that records an anomaly ends its run."""
    groups: list[list[Taken]] = []
    for taken in steps:
        last = groups[-1][-1] if groups else None
        same = last is not None and (
            (last.event.thread, last.event.op, last.event.micro, last.event.op_index)
            == (taken.event.thread, taken.event.op, taken.event.micro, taken.event.op_index)
        )
        if same and not last.anomalies and not taken.preempted:  # type: ignore[union-attr]
            groups[-1].append(taken)
        else:
            groups.append([taken])
    return groups


def print_steps(
    console: Console,
    steps: list[Taken],
    recorded: frozenset[AnomalyKind],
    goal: AnomalyKind | None,
) -> None:
    """``steps`` (a run of one thread's quiet micro-steps of one kind on one line), each
    anomaly the moment it happened, and the goal when a step first records it
    (``recorded``: the kinds recorded before the first of ``steps``)."""
    for group in _groups(steps):
        print_taken(console, group[0], last=group[-1])
        new = {a.kind for a in group[-1].anomalies} - recorded
        recorded |= new
        if goal in new:
            print_goal(console, goal, group[-1].event.step)


def _anomaly(console: Console, kind: str, message: str) -> None:
    console.print(
        hanging([(Text("!", style="bold red"), Text(f"{kind}: {message}"))], indent=2, gap=1)
    )


def print_goal(console: Console, goal: AnomalyKind, step: int | None) -> None:
    when = "at the end" if step is None else f"at step {step}"
    console.print(Text(f"Goal reached: a {goal}, {when}.", style="bold green"))


def print_odds(console: Console, session: Session, odds: tuple[Odds, ...], max_states: int) -> None:
    """The hint: for each thread that may run, how the interleavings that start with its
    move end."""
    if not odds:
        console.print(Text("No thread can run: the run is over."))
        return
    counted = [o.table for o in odds if o.table is not None]
    total = sum(t.interleavings for t in counted)
    if len(counted) == len(odds):
        console.print(
            Text(
                f"The odds from here: after step {session.steps}, "
                f"{plural(total, 'interleaving')} can still happen. By move:"
            )
        )
    else:
        budgets = sorted({Limit(o.stopped or "states") for o in odds if o.table is None},
                         key=lambda limit: limit.value)  # fmt: skip
        options = " or ".join(limit.option for limit in budgets)
        console.print(
            Text(
                f"The odds from here (a move marked too many ran out of budget first: raise "
                f"{options}; --max-states is {max_states:,}):"
            )
        )
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("move", no_wrap=True)
    table.add_column("interleavings", justify="right", no_wrap=True)
    table.add_column("ending in")
    table.add_column("share", justify="right", no_wrap=True)
    for o in odds:
        if o.table is None:
            table.add_row(o.thread, "too many", "", "")
            continue
        for i, s in enumerate(o.table.outcomes):
            first = i == 0
            table.add_row(
                o.thread if first else "",
                count_cell(o.table.interleavings) if first else "",
                str(s.outcome),
                percent(s.share),
            )
    console.print(Fit(table))


def print_ending(
    console: Console,
    session: Session,
    ending: Ending,
    *,
    file: str,
    goal: AnomalyKind | None,
) -> None:
    """The outcome, how often it happens among all interleavings, the preemptions used
    against the fewest that reach it, the claims' verdict and the replay command."""
    result = session.result()
    finished = all(move.op is None for move in session.moves())
    console.print(Text("Every thread has finished." if finished else "No thread can run."))
    for anomaly in session.concluded():
        _anomaly(console, anomaly.kind.value, anomaly.message)
    console.print()
    head = Text("The end: ", style="bold")
    head.append(f"{ending.outcome}.")
    console.print(head)
    stats = ending.stats
    if stats is None or ending.interleavings is None:
        console.print(Text("(too many interleavings to count how often this happens)"))
    else:
        fewest = stats.preemptions
        used = ending.preemptions
        compare = (
            "no interleaving reaches this outcome with fewer"
            if used == fewest
            else f"the fewest that reach this outcome: {fewest}, with {stats.witness}"
        )
        console.print(
            Text(
                f"{count_cell(stats.count)} of the {count_cell(ending.interleavings)} "
                f"interleavings ({percent(stats.share)}) end this way. You used "
                f"{plural(used, 'preemption')}; {compare}."
            )
        )
    if goal is not None and goal in {a.kind for a in session.concluded()}:
        print_goal(console, goal, None)
    elif goal is not None and goal not in result.anomaly_kinds:
        console.print(Text(f"Goal not reached: no {goal}. u undoes a step: try another way."))
    console.print(verdict_text(judge_run(session.scenario, result), retry="u undoes a step"))
    command_line(console, "replay: ", replay_command(file, result, session.scenario))
