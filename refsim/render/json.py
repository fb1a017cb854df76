"""The JSON documents of ``--json``: the same values the terminal shows, as data.

Shapes are documented in docs/cli.md. Counts are exact integers (however long); shares
and probabilities come as floats and, exact, as ``"3/4"`` strings.

Every command's ``--json`` imports this module and nothing of the terminal's (rich):
tests/test_startup.py holds them to that. The comparison (:mod:`refsim.compare`, SimPy)
is imported by the functions that write its documents, when called.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TextIO

from refsim.claims import agrees
from refsim.costs import settings
from refsim.model import Runtime
from refsim.render.commands import witness_replay
from refsim.trace import Anomaly, Exploration, TimedMetrics, TraceEvent

if TYPE_CHECKING:
    from refsim.budget import BudgetExceeded
    from refsim.claims import Checked, Verdict
    from refsim.compare import Row
    from refsim.explore import ExplorationStopped
    from refsim.model import AnomalyKind, Scenario
    from refsim.play import Board, Ending, Odds, Session
    from refsim.story import Story
    from refsim.trace import RunResult

__all__ = [
    "RunJsonStream",
    "board_json",
    "checked_json",
    "compare_json",
    "exploration_json",
    "game_json",
    "metrics_json",
    "odds_json",
    "run_json",
    "spent_json",
    "stopped_json",
    "story_json",
    "sweep_json",
    "timed_json",
    "verdict_json",
]


def _exact(value: Fraction | None) -> str | None:
    return None if value is None else str(value)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def exploration_json(exploration: Exploration) -> dict[str, Any]:
    """The ``explore --json`` document: CLI.md's shape plus, per outcome, ``share``,
    ``probability`` (floats, and exact as ``"3/4"`` in ``share_exact`` and
    ``probability_exact``) and ``preemptions``; and ``preemption_bound``, ``states``,
    ``bound_probability``; and for a sampled table ``seed``, ``requested`` (the runs asked
    for: ``interleavings`` is fewer when a budget ran out) and ``budget`` (what stopped
    the exact count: ``states``, ``time`` or ``memory``)."""
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
        "requested": exploration.requested,
        "budget": exploration.budget,
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


def spent_json(error: BudgetExceeded) -> dict[str, Any]:
    """A budget that ran out: which (``limit``: ``time``, ``memory``, ``states``,
    ``steps`` or ``examples``), how much it allowed (``allowed``, for people), the
    ``seconds`` spent and the work ``done`` by then (unit to count)."""
    return {
        "limit": error.limit.value,
        "option": error.limit.option,
        "allowed": error.allowed,
        "seconds": round(error.seconds, 3),
        "done": dict(error.done),
    }


def stopped_json(error: ExplorationStopped) -> dict[str, Any]:
    """An exploration a budget stopped (:func:`spent_json`), and what it had found:
    ``states`` explored, the anomaly ``kinds_seen`` and ``final_states_seen`` (lower
    bounds), the states the whole count needs at least (``states_at_least``) and its
    interleavings, estimated (``interleavings_estimate``); ``max_states`` when the state
    budget is what ran out."""
    return {
        **spent_json(error),
        "states": error.states,
        "max_states": error.max_states,
        "kinds_seen": sorted(k.value for k in error.kinds),
        "final_states_seen": error.finals if error.counting else None,
        "states_at_least": max(error.at_least, error.states),
        "interleavings_estimate": error.interleavings,
    }


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """One claim and its verdict: what the runtime is held to (``claimed``: null when it is
    not checked; ``implicit``: the file's own runtime, not named), what was found, on what
    basis, and each unexpected kind's witness."""
    kinds = verdict.claim.kinds
    return {
        "runtime": verdict.runtime.value,
        "claimed": None if kinds is None else sorted(k.value for k in kinds),
        "implicit": verdict.claim.implicit,
        "basis": verdict.basis.value,
        "holds": verdict.holds,
        "found": sorted(k.value for k in verdict.found),
        "unexpected": sorted(k.value for k in verdict.unexpected),
        "missing": sorted(k.value for k in verdict.missing),
        "witnesses": [
            {
                "kind": w.kind.value,
                "schedule": str(w.schedule),
                "preemptions": w.preemptions,
                "process": w.process,
            }
            for w in verdict.witnesses
        ],
    }


def checked_json(file: str, scenario: Scenario, checked: tuple[Checked, ...]) -> list[Any]:
    """``refsim check --json``: one entry per claim of one file."""
    claims = []
    for c in checked:
        kinds = c.claim.kinds or frozenset()
        entry: dict[str, Any] = {
            "runtime": c.claim.runtime.value,
            "claimed": sorted(k.value for k in kinds),
            "implicit": c.claim.implicit,
        }
        if c.verdict is None or c.found is None:
            budget = None if c.stopped is None else stopped_json(c.stopped)
            entry.update(holds=None, budget_exceeded=True, budget=budget)
            claims.append(entry)
            continue
        v = c.verdict
        exact = all(isinstance(part, Exploration) for part in c.found)
        interleavings = [
            part.interleavings if isinstance(part, Exploration) else None for part in c.found
        ]
        entry.update(
            holds=v.holds,
            budget_exceeded=False,
            reachable=sorted(k.value for k in v.found),
            missing=sorted(k.value for k in v.missing),
            unexpected=[
                {
                    "kind": w.kind.value,
                    "witness": str(w.schedule),
                    "preemptions": w.preemptions,
                    "process": w.process,
                    "replay": witness_replay(
                        file, scenario, str(w.schedule), c.claim.runtime, w.process
                    ),
                }
                for w in v.witnesses
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


def compare_json(scenario: Scenario, rows: tuple[Row, ...], seed: int) -> dict[str, Any]:
    """``refsim compare --json``: a cell a budget left unmeasured is null, and its row's
    ``stopped`` names the budget (``time``, ``memory``)."""
    from refsim.compare import agrees as row_agrees

    return {
        "scenario": scenario.name,
        "seed": seed,
        "timed": scenario.timing is not None,
        "cores": settings(scenario.timing).cores,
        "rows": [
            {
                "runs_as": row.label,
                "runtime": row.runtime.value,
                "processes": row.processes,
                "anomalies": None if row.anomalies is None else [k.value for k in row.anomalies],
                "exhaustive": row.exhaustive,
                "makespan_ns": row.makespan_ns,
                "sequential_ns": row.sequential_ns,
                "speedup": None if row.speedup is None else round(row.speedup, 6),
                "utilisation": None if row.utilisation is None else round(row.utilisation, 6),
                "agrees": row_agrees(scenario, row),
                "went_wrong": [k.value for k in row.went_wrong],
                "stopped": row.stopped,
            }
            for row in rows
        ],
    }


# -- the story ------------------------------------------------------------------------------


def _scenario_json(story: Story) -> dict[str, Any]:
    scenario = story.scenario
    return {
        "name": scenario.name,
        "description": scenario.description,
        "runtime": story.runtime.value,
        "threads": {t.name: [str(op) for op in t.ops] for t in scenario.threads},
        "objects": dict(scenario.objects),
        "variables": dict(scenario.variables),
        "locks": list(scenario.locks),
        "facts": [{"label": label, "text": text} for label, text in story.facts],
    }


def _failing_json(story: Story) -> dict[str, Any] | None:
    failing = story.failing
    if failing is None:
        return None
    return {
        "run": run_json(failing.part, failing.run, seed=None),
        "process": failing.part.part_of,
        "preemptions": failing.run.preemptions,
        "story": [{"step": s.step, "text": s.text} for s in failing.sentences],
        "meaning": list(failing.meanings),
        "replay": failing.replay,
    }


def _gil_json(story: Story) -> list[dict[str, Any]]:
    rows = []
    for row in story.runtimes:
        table, kinds = row.table, row.reachable
        rows.append(
            {
                "runtime": row.runtime.value,
                "group": row.group,
                "anomalies": None if kinds is None else sorted(k.value for k in kinds),
                "exhaustive": None if table is None else table.exhaustive,
                "interleavings": None if table is None else table.interleavings,
                "why": row.why,
                "stopped": row.stopped,
            }
        )
    return rows


def _time_json(story: Story) -> dict[str, Any] | None:
    time = story.time
    if time is None:
        return None
    runs = []
    for runtime, result in time.runs:
        assert result.metrics is not None
        runs.append({"runtime": runtime.value, **metrics_json(result.metrics)})
    return {"switch_interval_ns": time.switch_interval, "runs": runs, "lesson": time.lesson}


def story_json(story: Story, *, brief: bool = False) -> dict[str, Any]:
    """The story as one document (docs/cli.md); ``brief`` keeps ``outcomes``, ``gil``,
    ``timed`` and ``time``, with ``scenario`` as the name alone."""
    table = story.table
    kind = "unavailable" if table is None else "exact" if table.exhaustive else "sampled"
    document: dict[str, Any] = {
        "scenario": _scenario_json(story),
        "shape": story.shape.value,
        "outcomes": {
            "table": kind,
            "exploration": None if table is None else exploration_json(table),
        },
        "failing": _failing_json(story),
        "gil": {"runtimes": _gil_json(story), "lesson": story.lesson},
        "timed": None if story.time is None else compare_json(story.scenario, story.time.rows, 0),
        "time": _time_json(story),
        "claims": [
            {"runtime": j.claim.runtime.value, "verdict": None}
            if j.verdict is None
            else verdict_json(j.verdict)
            for j in story.judged
        ],
        "agrees": story.agrees,
        "commands": [{"what": what, "command": command} for what, command in story.next],
        "stopped": list(story.stopped),
    }
    if brief:
        document = {key: document[key] for key in ("outcomes", "gil", "timed", "time")}
        document["scenario"] = story.scenario.name
    return document


# -- play -----------------------------------------------------------------------------------


def board_json(session: Session, board: Board) -> dict[str, Any]:
    """One turn of ``refsim play``: the step so far, each thread's move (or why it cannot
    run), registers, objects, variables, locks, and where each waiting primitive stands
    (``waits``: ``{"queue Q": "1 of 1 item"}``)."""
    registers = dict(board.registers)
    return {
        "step": session.steps,
        "schedule": str(session.schedule),
        "finished": session.finished,
        "threads": [
            {
                "thread": move.thread,
                "op": move.op,
                "micro": move.micro,
                "enabled": move.enabled,
                "reason": move.reason,
                "register": registers[move.thread],
            }
            for move in board.moves
        ],
        "objects": [
            {"name": name, "refcount": refcount, "true_refs": true_refs, "freed": freed}
            for name, refcount, true_refs, freed in board.objects
        ],
        "variables": dict(board.variables),
        "locks": dict(board.locks),
        "waits": dict(board.counters),
    }


def odds_json(odds: tuple[Odds, ...]) -> list[dict[str, Any]]:
    """The hint: per thread that may run, the interleavings that start with its move."""
    return [
        {
            "thread": o.thread,
            "interleavings": None if o.table is None else o.table.interleavings,
            "outcomes": None
            if o.table is None
            else [
                {
                    "anomalies": [k.value for k in s.outcome.anomalies],
                    "final": dict(s.outcome.final),
                    "count": s.count,
                    "share": float(s.share),
                    "share_exact": str(s.share),
                }
                for s in o.table.outcomes
            ],
        }
        for o in odds
    ]


def sweep_json(
    scenario: Scenario,
    runs: Sequence[tuple[int, RunResult]],
    *,
    runtime: Runtime,
    seed: int | None,
) -> dict[str, Any]:
    """``refsim run FILE --quantum A..B --json``: one entry per quantum."""
    return {
        "scenario": scenario.name,
        "runtime": runtime.value,
        "seed": seed,
        "runs": [
            {
                "quantum": quantum,
                "schedule": str(result.schedule),
                "steps": result.steps,
                "preemptions": result.preemptions,
                "finished": result.finished,
                "anomalies": [k.value for k in result.outcome.anomalies],
                "final": dict(result.final),
                "agrees": agrees(scenario, result),
            }
            for quantum, result in runs
        ],
        "agrees": all(agrees(scenario, result) for _, result in runs),
    }


def game_json(
    session: Session,
    turns: list[dict[str, Any]],
    goal: AnomalyKind | None,
    reachable: bool | None,
    done: Ending | None,
) -> dict[str, Any]:
    """``refsim play --json``: every turn (the command, the board after it, the odds when
    asked), the run so far and, when it is over, how its outcome compares with every
    interleaving."""
    result = session.result()
    stats = None if done is None else done.stats
    return {
        "scenario": session.scenario.name,
        "runtime": session.runtime.value,
        "goal": None if goal is None else goal.value,
        "goal_reachable": reachable,
        "turns": turns,
        "schedule": str(result.schedule),
        "steps": result.steps,
        "preemptions": result.preemptions,
        "finished": result.finished,
        "anomalies": [
            {"kind": a.kind.value, "step": a.step, "message": a.message} for a in result.anomalies
        ],
        "ending": None
        if done is None
        else {
            "anomalies": [k.value for k in done.outcome.anomalies],
            "final": dict(done.outcome.final),
            "count": None if stats is None else stats.count,
            "interleavings": done.interleavings,
            "share": None if stats is None else float(stats.share),
            "fewest_preemptions": None if stats is None else stats.preemptions,
            "witness": None if stats is None else str(stats.witness),
            "agrees": agrees(session.scenario, result),
        },
    }


# -- runs ---------------------------------------------------------------------------------


def _anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "kind": anomaly.kind.value,
        "subject": anomaly.subject,
        "step": anomaly.step,
        "threads": list(anomaly.threads),
        "message": anomaly.message,
    }


def _event_json(event: TraceEvent) -> dict[str, Any]:
    """One trace event as CLI.md shows it; under free-threaded also the object's
    ``local`` and ``shared`` counts (``value`` is their sum)."""
    found = {
        "step": event.step,
        "time": event.time,
        "thread": event.thread,
        "op": event.op,
        "micro": event.micro,
        "subject": event.subject,
        "register": event.register,
        "value": event.value,
        "true_refs": event.true_refs,
    }
    if event.counts is not None:
        found["local"], found["shared"] = event.counts
    return found


def run_json(scenario: Scenario, result: RunResult, *, seed: int | None) -> dict[str, Any]:
    """The ``run --json`` document (CLI.md), plus ``steps``, ``preemptions``, ``finished``,
    ``stopped`` (the budget that stopped an unfinished run), ``seed`` (null when replayed)
    and ``agrees`` (the verdict against ``expect:``)."""
    return {
        "scenario": result.scenario,
        "runtime": result.runtime.value,
        "schedule": str(result.schedule),
        "seed": seed,
        "steps": result.steps,
        "preemptions": result.preemptions,
        "finished": result.finished,
        "stopped": result.stopped,
        "anomalies": [_anomaly_json(a) for a in result.anomalies],
        "final": dict(result.final),
        "agrees": agrees(scenario, result),
        "trace": None if result.trace is None else [_event_json(e) for e in result.trace],
    }


class RunJsonStream:
    """``run --json`` written as the run goes: the trace's events as they happen, then the
    rest of :func:`run_json`'s document, so that a run of a million steps is never held
    in memory. The keys come in another order than :func:`run_json`'s (the trace before
    what is known only at the end), which JSON readers do not mind.

    Use :meth:`event` as the engine's ``on_event``, then :meth:`finish`."""

    BATCH = 4096
    """Events encoded and written together (one call of the encoder for many is several
    times faster than one each)."""

    def __init__(self, out: TextIO, scenario: str, runtime: Runtime, *, trace: bool) -> None:
        self.out = out
        self.trace = trace
        self.batch: list[dict[str, Any]] = []
        self.written = 0
        head = json.dumps({"scenario": scenario, "runtime": runtime.value})[:-1]
        out.write(head + (', "trace": [' if trace else ', "trace": null'))

    def event(self, event: TraceEvent) -> None:
        self.batch.append(_event_json(event))
        if len(self.batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            self.out.write((", " if self.written else "") + json.dumps(self.batch)[1:-1])
            self.written += len(self.batch)
            self.batch.clear()

    def finish(self, scenario: Scenario, result: RunResult, **more: object) -> None:
        """The rest of the document: :func:`run_json`'s keys, then ``more``."""
        self._flush()
        rest = run_json(scenario, result, seed=None)
        rest.update(more)
        for key in ("scenario", "runtime", "trace"):
            del rest[key]
        self.out.write(("], " if self.trace else ", ") + json.dumps(rest)[1:] + "\n")


def timed_json(scenario: Scenario, result: RunResult, *, seed: int) -> dict[str, Any]:
    """``run --timed --json``: the ``run --json`` document with ``"mode": "timed"``, each
    trace event's ``time`` in ns plus its ``duration`` (ns) and ``count`` (micro-steps it
    stands for), and ``metrics``: ``makespan_ns``, ``cores``, ``utilisation``, ``threads``
    (name -> ``running_ns``, ``gil_wait_ns``, ``io_wait_ns``, ``ready_ns``,
    ``lock_wait_ns``, ``blocked_ns``, ``ops``, ``finished_ns``) and ``gil`` (``switches``,
    ``drop_requests``)."""
    metrics = result.metrics
    assert metrics is not None
    document = run_json(scenario, result, seed=seed)
    document["mode"] = "timed"
    if document["trace"] is not None:
        for event, count, duration in zip(
            document["trace"], metrics.counts, metrics.durations, strict=True
        ):
            event["duration"] = duration
            event["count"] = count
    document["metrics"] = metrics_json(metrics)
    return document


def metrics_json(metrics: TimedMetrics) -> dict[str, Any]:
    """Where a timed run's time went, as ``run --timed --json``'s ``metrics``."""
    return {
        "makespan_ns": metrics.makespan_ns,
        "cores": metrics.cores,
        "utilisation": round(metrics.utilisation, 6),
        "threads": {
            name: {
                "running_ns": m.running_ns,
                "gil_wait_ns": m.gil_wait_ns,
                "io_wait_ns": m.io_wait_ns,
                "ready_ns": m.ready_ns,
                "lock_wait_ns": m.lock_wait_ns,
                "blocked_ns": m.blocked_ns,
                "ops": m.ops,
                "finished_ns": m.finished_ns,
            }
            for name, m in metrics.threads
        },
        "gil": {"switches": metrics.switches, "drop_requests": metrics.drop_requests},
    }
