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
     "witnesses": [[LABEL, SCHEDULE]...], "replay": [BEFORE, AFTER],
     "play": COMMAND}                  the command that plays it in a terminal

Strings (OP, MICRO, WHY, COUNT, SHARE, TEXT, ...) are indices into ``s``; THREAD and
HOLDER index ``threads``; a move is ``null`` (the thread cannot run, or a partial graph
leaves it out) or ``[CHILD, [ANOMALY...], REGISTER, VALUE, TRUE_REFS]``, the values being
the trace event's (null when it has none), trailing nulls and an empty list left out.
The replay command of a schedule S is ``BEFORE + S + AFTER``.
"""

from __future__ import annotations

import shlex
from fractions import Fraction
from typing import Any

from refsim.graph import Graph, acyclic
from refsim.model import Runtime, Scenario
from refsim.page import Page, Part
from refsim.play import Board
from refsim.render.commands import replay_line
from refsim.render.text import count_cell, percent
from refsim.report import value_header
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
    with acyclic():
        parts = [_part(part, story.file, strings) for part in page.parts]
    return {
        "format": FORMAT,
        "scenario": story.scenario.name,
        "runtime": story.runtime.value,
        "budget": page.max_states,
        "parts": parts,
        "s": strings.items,
    }


def _part(part: Part, file: str, s: _Table) -> dict[str, Any]:
    graph = part.graph
    scenario = part.scenario
    nexts, tstates, boards, tables, anomalies = _Table(), _Table(), _Table(), _Table(), _Table()
    threads = list(scenario.thread_names)

    def anomaly(a: Anomaly) -> int:
        return anomalies((s(a.kind.value), s(a.message)))

    subjects = _subjects(scenario)
    counted = _Counts(s)
    used = [False, False, False]
    nodes = []
    known: dict[tuple[Any, int | None], int] = {}
    # The graph shares one board among every state that shows it (refsim.play.Boards):
    # each is written once, and found again by identity (the graph keeps it alive).
    written: dict[int, tuple[list[int], int]] = {}
    for node in graph.nodes:
        moves: list[Any] = []
        for move in node.moves:
            if move is None:
                moves.append(None)
                continue
            event = move.event
            register, value, true_refs = event.register, event.value, event.true_refs
            said = [anomaly(a) for a in move.anomalies] if move.anomalies else []
            # Trailing nulls and an empty list left out (the module docstring).
            if true_refs is not None:
                used[2] = True
                moves.append([move.child, said, register, value, true_refs])
            elif value is not None:
                moves.append([move.child, said, register, value])
            elif register is not None:
                moves.append([move.child, said, register])
            else:
                moves.append([move.child, said] if said else [move.child])
            if value is not None:
                used[1] = True
            if register is not None:
                used[0] = True
        board = node.board
        found = written.get(id(board))
        if found is None:
            found = written[id(board)] = _board(
                board, threads, subjects, s, nexts, tstates, boards, known
            )
        states, shown = found
        nodes.append(
            [
                moves,
                states,
                shown,
                -1 if node.table is None else tables(counted.table(node.table)),
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
        "play": _play(file, graph.runtime, scenario),
    }


def _board(
    board: Board,
    threads: list[str],
    subjects: dict[str | None, tuple[str, int]],
    s: _Table,
    nexts: _Table,
    tstates: _Table,
    boards: _Table,
    known: dict[tuple[Any, int | None], int],
) -> tuple[list[int], int]:
    """A board as a node names it: each thread's state (indices into ``tstates``) and
    the board's index in ``boards``."""
    states = []
    for m, (_, register) in zip(board.moves, board.registers, strict=True):
        found = known.get((m, register))
        if found is None:
            nxt = -1
            if m.op is not None:
                assert m.micro is not None
                nxt = nexts((s(m.op), s(m.micro), subjects.get(m.subject)))
            why = -1 if m.reason is None or m.op is None else s(m.reason)
            found = known[(m, register)] = tstates((nxt, why, register))
        states.append(found)
    shown = (
        tuple((refcount, true_refs, int(freed)) for _, refcount, true_refs, freed in board.objects),
        tuple(value for _, value in board.variables),
        tuple(-1 if holder is None else threads.index(holder) for _, holder in board.locks),
        tuple((s(label), s(words)) for label, words in board.counters),
    )
    return states, boards(shown)


def _play(file: str, runtime: Runtime, scenario: Scenario) -> str:
    """The command that plays this part in a terminal."""
    command = f"refsim play {shlex.quote(file)}"
    if scenario.part_of is not None:
        command += f" --process {scenario.part_of}"
    if runtime is not scenario.runtime:
        command += f" --runtime {runtime.value}"
    return command


def _subjects(scenario: Scenario) -> dict[str | None, tuple[str, int]]:
    """What a micro-step may touch, as the board shows it: an object (``o``), a variable
    (``v``) or a lock (``l``), by name, with its index on the board."""
    found: dict[str | None, tuple[str, int]] = {}
    for kind, names in (
        ("o", [name for name, _ in scenario.objects]),
        ("v", [name for name, _ in scenario.variables]),
        ("l", list(scenario.locks)),
    ):
        for index, name in enumerate(names):
            found[name] = (kind, index)
    return found


def _values(scenario: Scenario) -> list[str]:
    return ["register", value_header(scenario), "true refs"]


class _Counts:
    """A state's table of interleavings by outcome as the page stores it, each count and
    share written once however many states share it."""

    def __init__(self, s: _Table) -> None:
        self.s = s
        self._cells: dict[int, int] = {}
        self._shares: dict[tuple[int, int], int] = {}
        self._tables: dict[tuple[tuple[int, int], ...], tuple[Any, ...]] = {}

    def cell(self, count: int) -> int:
        found = self._cells.get(count)
        if found is None:
            found = self._cells[count] = self.s(count_cell(count))
        return found

    def share(self, count: int, total: int) -> int:
        found = self._shares.get((count, total))
        if found is None:
            found = self._shares[(count, total)] = self.s(percent(Fraction(count, total)))
        return found

    def table(self, table: tuple[tuple[int, int], ...]) -> tuple[Any, ...]:
        found = self._tables.get(table)
        if found is None:
            total = sum(count for _, count in table)
            rows = tuple((oid, self.cell(count), self.share(count, total)) for oid, count in table)
            found = self._tables[table] = (*rows, self.cell(total))
        return found


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
