"""``refsim play FILE``: the learner is the scheduler.

The game is a :class:`refsim.play.Session`; this module reads one command a line, asks
the session, and prints through :mod:`refsim.render.play`. On a terminal it prompts (and
``--quantum N`` starts an autopilot that Ctrl-C interrupts); when standard input is not
a terminal it reads one command per line, echoes each after ``>`` so that the output
reads as a transcript, and exits 0 when the input ends. ``--json`` prints the whole game
as one document at the end instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from refsim.budget import Meter, forget_interrupt
from refsim.cli.budget import add_budget
from refsim.cli.common import (
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    add_process,
    add_runtime,
    anomaly_kind,
    load,
    one_process,
    whole,
    write_json,
)
from refsim.cli.console import console
from refsim.cli.run import MAX_QUANTUM
from refsim.errors import visible
from refsim.model import AnomalyKind, Runtime
from refsim.play import (
    Action,
    Autopilot,
    PlayError,
    Session,
    Taken,
    ending,
    goal_reachable,
    read_command,
)
from refsim.render.json import board_json, game_json, odds_json
from refsim.render.play import (
    HELP,
    print_board,
    print_ending,
    print_intro,
    print_odds,
    print_steps,
)

__all__ = ["COMMAND"]

MAX_STATES = 200_000
"""The state budget of each count behind a hint or the ending (``--max-states``): a
learner waits for it."""
AUTOPILOT_PAUSE = 0.6
"""Seconds between the autopilot's moves on a terminal, so that a class can follow."""


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a scenario file, or a bundled scenario's name")
    add_runtime(p)
    add_process(p)
    p.add_argument(
        "--goal", type=anomaly_kind, metavar="KIND",
        help="a level: make this anomaly kind happen (said at once if no interleaving can)",
    )  # fmt: skip
    p.add_argument(
        "--quantum", type=whole(most=MAX_QUANTUM), metavar="N",
        help="an autopilot: round-robin, N micro-steps a turn (an empty line: one move; a: "
        "to the end; on a terminal it starts at once and Ctrl-C takes over)",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=None, metavar="N",
        help="with --quantum: each turn 1..N micro-steps at random, seeded",
    )  # fmt: skip
    p.add_argument(
        "--max-states", type=whole(), default=MAX_STATES, metavar="N",
        help=f"the most states each count of the odds may visit (default {MAX_STATES:,})",
    )  # fmt: skip
    p.add_argument(
        "--json", action="store_true",
        help="print the whole game as one JSON document when the input ends",
    )  # fmt: skip
    add_budget(p, per="each answer (a hint, the ending, whether the goal can be reached)")
    add_limits(p)


class _Game:
    """The mutable part of one game: the session, and what has been said about it."""

    def __init__(self, args: argparse.Namespace, session: Session, screen: Console) -> None:
        self.args = args
        self.session = session
        self.screen = screen
        self.goal: AnomalyKind | None = args.goal
        self.turns: list[dict[str, Any]] = []
        self.pilot = None if args.quantum is None else Autopilot(args.quantum, seed=args.seed)

    def show(self) -> None:
        if not self.args.json:
            print_board(self.screen, self.session, self.session.board())

    def say(self, text: str) -> None:
        if not self.args.json:
            self.screen.print(Text(text))

    def step(self, thread: str) -> Taken | None:
        """Run ``thread``'s next micro-step; ``None`` (with the reason said) if it cannot."""
        try:
            self.session = self.session.step(thread)
        except PlayError as error:
            self.say(str(error))
            return None
        return self.session.taken

    def tell(self, steps: list[Taken], before: Session) -> None:
        """What ``steps`` did (runs of one thread's quiet micro-steps on one line), each
        anomaly the moment it happened, the goal if it was reached, the ending or the
        board."""
        if self.args.json or not steps:
            return
        print_steps(self.screen, steps, before.recorded, self.goal)
        if self.session.finished:
            done = ending(self.session, max_states=self.args.max_states, meter=self.meter())
            print_ending(self.screen, self.session, done, file=self.args.file, goal=self.goal)
        else:
            self.show()

    def steps(self, threads: Iterable[str]) -> None:
        """Run one micro-step for each of ``threads`` in turn, stopping at the first that
        cannot run, and tell what they did."""
        before, done = self.session, list[Taken]()
        for thread in threads:
            taken = self.step(thread)
            if taken is None:
                break
            done.append(taken)
        self.tell(done, before)

    def autopilot(self, moves: int | None, terminal: bool) -> None:
        """Let the autopilot make ``moves`` moves (None: until the run ends); on a terminal
        one at a time, at a pace a class can follow, until Ctrl-C."""
        pilot = self.pilot
        if pilot is None:
            self.say("There is no autopilot: start the game with --quantum N to have one.")
            return
        before, done = self.session, list[Taken]()
        try:
            while not self.session.finished and (moves is None or len(done) < moves):
                taken = self.step(pilot.move(self.session))
                assert taken is not None, "the autopilot picks an enabled thread"
                done.append(taken)
                if terminal:
                    self.tell(done, before)
                    before, done = self.session, []
                    if not self.session.finished:
                        time.sleep(AUTOPILOT_PAUSE)
        except KeyboardInterrupt:
            forget_interrupt()  # handled here: no meter is to raise it again
            self.tell(done, before)
            self.say("The autopilot stops: your move.")
            return
        self.tell(done, before)

    def meter(self) -> Meter:
        """A fresh budget for one question (the odds, the ending): a game may last an
        hour, each answer within --max-seconds."""
        meter = Meter(self.args.meter.budget)
        meter.on_progress = self.args.meter.on_progress
        return meter

    def hint(self) -> None:
        odds = self.session.odds(max_states=self.args.max_states, meter=self.meter())
        if self.args.json:
            self.turns[-1]["odds"] = odds_json(odds)
        else:
            print_odds(self.screen, self.session, odds, self.args.max_states)

    def undo(self) -> None:
        taken = self.session.taken
        try:
            self.session = self.session.undo()
        except PlayError as error:
            self.say(str(error))
            return
        assert taken is not None
        event = taken.event
        self.say(f"undo: step {event.step} ({event.thread}'s {event.micro}) is undone.")
        self.show()

    def run(self, line: str, terminal: bool) -> bool:
        """Carry out one line; False when it asks to quit."""
        try:
            command = read_command(line, self.session.machine.thread_names)
        except PlayError as error:
            self.say(str(error))
            return True
        if command.action is Action.QUIT:
            return False
        if command.action is Action.STEP:
            assert command.schedule is not None
            self.steps(command.schedule)
        elif command.action is Action.UNDO:
            self.undo()
        elif command.action is Action.HINT:
            self.hint()
        elif command.action is Action.AUTOPILOT:
            self.autopilot(None, terminal)
        elif command.action is Action.NEXT:
            if self.pilot is None:
                self.say(HELP)
            else:
                self.autopilot(1, terminal=False)
        else:
            self.say(HELP)
        return True


def _lines(terminal: bool, screen: Console, json: bool) -> Any:
    """The commands, one a line: prompted on a terminal, echoed after ``>`` otherwise."""
    while True:
        if terminal:
            screen.print()
            try:
                line = input("> ")
            except (EOFError, KeyboardInterrupt):
                forget_interrupt()
                return
        else:
            line = sys.stdin.readline()
            if not line:
                return
            line = line.rstrip("\n")
            if not json:
                screen.print()
                screen.print(Text(f"> {visible(line)}"))
        yield line


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.seed is not None and args.quantum is None:
        raise UsageError("--seed draws the autopilot's turns: it goes with --quantum N")
    scenario, file = load(args.file, args)
    scenario = one_process(scenario, args, file)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    session = Session.start(scenario, runtime)
    screen = console(out)
    terminal = sys.stdin.isatty() and not args.json
    reachable = None
    if args.goal is not None:
        reachable = goal_reachable(
            scenario, runtime, args.goal, max_states=args.max_states, meter=args.meter
        )
    game = _Game(args, session, screen)
    if not args.json:
        print_intro(
            screen, session, goal=args.goal, reachable=reachable, quantum=args.quantum,
            terminal=terminal,
        )  # fmt: skip
        game.show()
    if terminal and args.quantum is not None:
        game.autopilot(None, terminal=True)
    for line in _lines(terminal, screen, args.json):
        game.turns.append({"command": line})
        going = game.run(line, terminal)
        game.turns[-1]["board"] = board_json(game.session, game.session.board())
        if not going:
            break
    if args.json:
        done = None
        if game.session.finished:
            done = ending(game.session, max_states=args.max_states, meter=game.meter())
        write_json(out, game_json(game.session, game.turns, args.goal, reachable, done))
    return EXIT_OK


COMMAND = Command(_arguments, _execute)
