"""The data a page's script reads: each part's state graph, compact, as one JSON document.

The page embeds it in ``<script type="application/json" id="refsim-data">`` and its
script (``assets/page.js``) reads it with ``JSON.parse``. Every string is stored once, in
``s``, and named by its index; every board, table and thread state is stored once too,
per part, and named by index, so that a graph of 20,000 states stays about a megabyte.

Document::

    {"format": 1, "scenario": NAME, "runtime": R, "budget": MAX_STATES, "s": [STRING...],
     "parts": [PART...]}

Part (one process, or the whole scenario)::

    {"process": NAME | null, "complete": bool, "states": N,
     "threads": [NAME...], "objects": [NAME...], "variables": [NAME...], "locks": [NAME...],
     "columns": [HEADER...],            the trace table's columns
     "nexts": [[OP, MICRO, SUBJECT]...], a thread's next micro-step, and what it touches:
                                        ["o", I] object I, ["v", I] variable I, ["l", I]
                                        lock I, or null
     "tstates": [[NEXT | -1, WHY | -1, REGISTER | null]...],
                                        a thread on the board: its next micro-step (-1:
                                        finished), why it cannot run (-1: it may), the
                                        register it holds (null: none live)
     "boards": [[[[REFCOUNT, TRUE_REFS, FREED]...], [VALUE...], [HOLDER | -1...],
                 [[LABEL, WORDS]...]]...],        objects, variables, locks, primitives
     "anomalies": [[KIND, MESSAGE]...],
     "outcomes": [[TEXT, BAD, COUNT, SHARE, FEWEST, WITNESS] | [TEXT, BAD]...],
                                        BAD: 1 when it has an anomaly; from the start:
                                        how many interleavings end so, their share, the
                                        fewest preemptions and a witness (none of these
                                        when not counted)
     "tables": [[[OUTCOME, COUNT, SHARE]..., TOTAL]...],
                                        the interleavings from a state, by outcome
     "nodes": [[MOVES, TSTATES, BOARD, TABLE | -1, OUTCOME | -1, [ANOMALY...]]...],
     "interleavings": COUNT | null,     how many there are from the start
     "witnesses": [[LABEL, SCHEDULE]...], "replay": [BEFORE, AFTER]}

Strings (OP, MICRO, WHY, COUNT, SHARE, TEXT, ...) are indices into ``s``; THREAD and
HOLDER index ``threads``; a move is ``null`` (the thread cannot run, or a partial graph
leaves it out) or ``[CHILD, [ANOMALY...], REGISTER, VALUE, TRUE_REFS]``, the values being
the trace event's (null when it has none), trailing nulls and an empty list left out.
The replay command of a schedule S is ``BEFORE + S + AFTER``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from refsim.graph import Graph, Node
from refsim.model import Scenario
from refsim.page import Page, Part
from refsim.render.text import count_cell, percent
from refsim.report import replay_line, value_header
from refsim.trace import Anomaly, Exploration

__all__ = ["FORMAT", "page_data"]

FORMAT = 1
"""The document's version: the page's script reads this one."""

_PLACE = "\x00"
"""Stands for the schedule in the replay command until it is split around it."""


class _Table:
    """Values stored once, named by index: strings, numbers and tuples of them (which
    JSON writes as arrays)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._ids: dict[Any, int] = {}

    def __call__(self, item: Any) -> int:
        found = self._ids.get(item)
        if found is None:
            found = self._ids[item] = len(self.items)
            self.items.append(item)
        return found


def page_data(page: Page) -> dict[str, Any]:
    """The document the page's script reads (see the module docstring)."""
    strings = _Table()
    story = page.story
    return {
        "format": FORMAT,
        "scenario": story.scenario.name,
        "runtime": story.runtime.value,
        "budget": page.max_states,
        "parts": [_part(part, story.file, strings) for part in page.parts],
        "s": strings.items,
    }


def _trim(values: list[Any]) -> list[Any]:
    while values and values[-1] in (None, []):
        values.pop()
    return values


def _part(part: Part, file: str, s: _Table) -> dict[str, Any]:
    graph = part.graph
    scenario = part.scenario
    nexts, tstates, boards, tables, anomalies = _Table(), _Table(), _Table(), _Table(), _Table()
    threads = list(scenario.thread_names)

    def anomaly(a: Anomaly) -> int:
        return anomalies((s(a.kind.value), s(a.message)))

    used = [False, False, False]
    nodes = []
    for node in graph.nodes:
        moves: list[Any] = []
        for move in node.moves:
            if move is None:
                moves.append(None)
                continue
            event = move.event
            values = [event.register, event.value, event.true_refs]
            used = [u or v is not None for u, v in zip(used, values, strict=True)]
            moves.append(_trim([move.child, [anomaly(a) for a in move.anomalies], *values]))
        board = node.board
        registers = dict(board.registers)
        states = []
        for m in board.moves:
            nxt = -1
            if m.op is not None:
                assert m.micro is not None
                nxt = nexts((s(m.op), s(m.micro), _subject(m.subject, scenario)))
            why = -1 if m.reason is None or m.op is None else s(m.reason)
            states.append(tstates((nxt, why, registers[m.thread])))
        shown = (
            tuple(
                (refcount, true_refs, int(freed)) for _, refcount, true_refs, freed in board.objects
            ),
            tuple(value for _, value in board.variables),
            tuple(-1 if holder is None else threads.index(holder) for _, holder in board.locks),
            tuple((s(label), s(words)) for label, words in board.counters),
        )
        nodes.append(
            [
                moves,
                states,
                boards(shown),
                -1 if node.table is None else tables(_table(node, s)),
                -1 if node.outcome is None else node.outcome,
                [anomaly(a) for a in node.concluded],
            ]
        )
    columns = ["step", "thread", "op", "micro-step"]
    columns += [h for h, u in zip(_values(scenario), used, strict=True) if u]
    before, _, after = replay_line(file, _PLACE, graph.runtime, scenario).partition(_PLACE)
    return {
        "process": scenario.part_of,
        "complete": graph.complete,
        "states": len(graph.nodes),
        "threads": threads,
        "objects": [name for name, _ in scenario.objects],
        "variables": [name for name, _ in scenario.variables],
        "locks": list(scenario.locks),
        "columns": columns,
        "nexts": nexts.items,
        "tstates": tstates.items,
        "boards": boards.items,
        "anomalies": anomalies.items,
        "outcomes": _outcomes(graph, part.table, s),
        "tables": tables.items,
        "nodes": nodes,
        "interleavings": None if part.table is None else s(count_cell(part.table.interleavings)),
        "witnesses": [[label, str(schedule)] for label, schedule in part.witnesses],
        "replay": [before, after],
    }


def _subject(subject: str | None, scenario: Scenario) -> tuple[str, int] | None:
    """What a micro-step touches, as the board shows it: an object, a variable or a lock."""
    for kind, names in (
        ("o", [name for name, _ in scenario.objects]),
        ("v", [name for name, _ in scenario.variables]),
        ("l", list(scenario.locks)),
    ):
        if subject in names:
            return kind, names.index(subject)
    return None


def _values(scenario: Scenario) -> list[str]:
    return ["register", value_header(scenario), "true refs"]


def _table(node: Node, s: _Table) -> tuple[Any, ...]:
    assert node.table is not None
    total = sum(count for _, count in node.table)
    rows = tuple(
        (oid, s(count_cell(count)), s(percent(Fraction(count, total)))) for oid, count in node.table
    )
    return (*rows, s(count_cell(total)))


def _outcomes(graph: Graph, table: Exploration | None, s: _Table) -> list[Any]:
    counted = (
        {} if table is None or not table.exhaustive else {x.outcome: x for x in table.outcomes}
    )
    found = []
    for outcome in graph.outcomes:
        stats = counted.get(outcome)
        bad = int(bool(outcome.anomalies))
        if stats is None:
            found.append([s(str(outcome)), bad])
            continue
        found.append(
            [
                s(str(outcome)),
                bad,
                s(count_cell(stats.count)),
                s(percent(stats.share)),
                stats.preemptions,
                s(str(stats.witness)),
            ]
        )
    return found
