"""Scenario files: YAML text in, a ``refsim.model.Scenario`` out, or a ``ScenarioError``
that names every mistake in the file at once.

Loading runs four passes, each collecting diagnostics instead of stopping at the first:

1. bytes to text: the size limit, then UTF-8 (a bad byte is located by line and column);
2. text to data (:mod:`refsim.yamldoc`): plain data, with the line and column of every
   node, and no tag, anchor, alias or duplicate key let through;
3. shape: the pydantic models of ``refsim.schema``; each error is located through those
   paths and reworded to say what was expected and what was found;
4. meaning: names, ops, lock discipline and limits, then the ``Scenario`` is built.

Anything given to :func:`load_text` gives a ``Scenario`` or a ``ScenarioError``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from refsim.budget import BudgetExceeded, Limit, Meter, resident_memory
from refsim.errors import Diagnostic, ScenarioError
from refsim.model import (
    AnomalyKind,
    MicroKind,
    Op,
    OpKind,
    Runtime,
    Scenario,
    ThreadSpec,
    Timing,
)
from refsim.schema import (
    ANOMALY_KINDS,
    MICRO_KINDS,
    OP_SUBJECTS,
    RUNTIMES,
    TAGS,
    ObjectEntry,
    OpSyntaxError,
    RepeatBlock,
    ScenarioFile,
    ThreadEntry,
    TimingEntry,
    closest,
    closest_runtime,
    json_schema,
    parse_op,
    show_value,
)
from refsim.yamldoc import (
    BREAK,
    MAX_DEPTH,
    TICK_EVERY,
    Composer,
    DocPath,
    Document,
    Mark,
    Source,
    clip,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_REPEAT_DEPTH",
    "Limits",
    "ReadingStopped",
    "json_schema",
    "load_file",
    "load_text",
    "read_regular",
]

MAX_REPEAT_DEPTH = 16
"""How deeply ``repeat`` blocks may nest."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How big a scenario may be; each limit has a command-line option that raises it."""

    max_bytes: int = 1_048_576
    """The file's size in bytes (``--max-bytes``)."""
    max_ops: int = 1_000_000
    """Ops over all threads once ``repeat`` and ``count`` are expanded (``--max-ops``)."""


def load_file(
    path: str | os.PathLike[str], *, limits: Limits = Limits(), meter: Meter | None = None
) -> Scenario:
    """Read and check the scenario file at ``path``.

    Only a regular file is read (a FIFO, a device, a socket or a folder is refused
    without waiting on it). ``meter``, if given, bounds the time and memory reading takes
    (:class:`~refsim.budget.BudgetExceeded` when it runs out)."""
    filename = str(path)
    data = read_regular(path, filename, limits, meter)
    return load_text(data, filename=filename, limits=limits, meter=meter)


def load_text(
    text: str | bytes,
    *,
    filename: str = "<string>",
    limits: Limits = Limits(),
    meter: Meter | None = None,
) -> Scenario:
    """Check the scenario in ``text`` (``filename`` names it in messages and ``source``);
    ``meter`` bounds the time and memory that takes."""
    if isinstance(text, bytes | bytearray | memoryview):
        data = bytes(text)
        if len(data) > limits.max_bytes:
            raise ScenarioError([_too_big(filename, len(data), limits)])
        text = _decode(data, filename)
    elif len(text) > limits.max_bytes // 4:
        # Only a text this long can be over the limit once encoded; skip the copy otherwise.
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise ScenarioError([_too_big(filename, size, limits)])
    source = Source(filename, text.removeprefix("\ufeff"))
    composer = Composer(source, tick=None if meter is None else _reading(meter))
    started = 0.0 if meter is None else meter.elapsed
    try:
        doc = composer.compose()
    except BudgetExceeded as error:
        stopped = ReadingStopped(error, filename, composer.line, len(source.lines))
        stopped.started = started
        raise stopped from None
    if doc is not None:
        _check_shape(source, doc)
        plans = _Checker(source, doc, limits).check()
        if not source.diagnostics:
            return _build(doc, plans, filename)
    raise ScenarioError(source.diagnostics)


# --- pass 1: bytes to text ----------------------------------------------------------------


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

LOAD_FACTOR = 8
"""Bytes of memory reading a file takes per byte of it before its YAML is parsed, about
(its bytes, its text, its lines, the YAML reader's copy: 860 MB for a file of 100 MB of
short lines): a file that does not fit in the memory budget that many times over is
refused before it is read."""


def _not_regular(filename: str, mode: int) -> ScenarioError:
    what = next((name for test, name in _KINDS if test(mode)), "not a file refsim can read")
    return ScenarioError(
        [
            Diagnostic(
                filename, 1, 1, "", f"not a regular file: it is {what}",
                hint="give a scenario file (YAML), or a bundled scenario's name",
            )
        ]
    )  # fmt: skip


def read_regular(
    path: str | os.PathLike[str], filename: str, limits: Limits, meter: Meter | None
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limits.max_bytes`` of them
    plus one (to tell that it is too big without reading a huge file).

    A FIFO would block the read until someone writes to it, a device may never end, a
    folder has no text: each is refused by its kind (from ``stat``, before anything is
    opened; then again on the open file, opened without blocking, in case the name
    changed in between)."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(filename, mode)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as e:
        reason = e.strerror or str(e)
        message = f"cannot read the file: {reason}"
        raise ScenarioError([Diagnostic(filename, 1, 1, "", message)]) from None
    with open(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(filename, info.st_mode)
        if meter is not None:
            _make_room(meter, min(info.st_size, limits.max_bytes + 1) * LOAD_FACTOR)
        try:
            # Reading one byte past the limit tells "too big" without reading a huge file.
            data = f.read(limits.max_bytes + 1)
        except OSError as e:
            message = f"cannot read the file: {e.strerror or e}"
            raise ScenarioError([Diagnostic(filename, 1, 1, "", message)]) from None
        size = max(len(data), info.st_size)
    if len(data) > limits.max_bytes:
        raise ScenarioError([_too_big(filename, size, limits)])
    return data


def _make_room(meter: Meter, needed: int) -> None:
    """Refuse (memory budget) to read a file whose text alone would not fit in it."""
    meter.check()
    limit = meter.budget.memory
    used = resident_memory()
    if limit is not None and used is not None and used + needed > limit:
        raise meter.exceeded(Limit.MEMORY)


class ReadingStopped(BudgetExceeded):
    """The time or memory budget ran out while a scenario file was read; how far it got."""

    def __init__(self, spent: BudgetExceeded, filename: str, line: int, lines: int) -> None:
        super().__init__(spent.limit, spent.allowed)
        self.adopt(spent)
        self.filename = filename
        self.line = line
        """The line it had reached."""
        self.lines = lines
        """The lines the file has."""
        self.started = 0.0
        """When (in the meter's seconds) the parse began, after reading and decoding."""


def _reading(meter: Meter) -> Callable[[], None]:
    """The composer's tick: counts the YAML nodes read and checks the budget."""

    def tick() -> None:
        meter.tick("YAML nodes read", TICK_EVERY)

    return tick


def _too_big(filename: str, size: int, limits: Limits) -> Diagnostic:
    return Diagnostic(
        filename,
        1,
        1,
        "",
        f"the file is {size:,} bytes, over the limit of {limits.max_bytes:,} bytes; "
        "raise it with --max-bytes",
    )


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = BREAK.split(data[: e.start].decode("utf-8"))
        rest = BREAK.split(data[e.start :].decode("utf-8", "replace"), maxsplit=1)[0]
        raise ScenarioError(
            [
                Diagnostic(
                    filename,
                    len(before),
                    len(before[-1]) + 1,
                    "",
                    f"the file is not valid UTF-8: byte 0x{data[e.start]:02x} at offset "
                    f"{e.start} ({e.reason})",
                    before[-1] + rest,
                    "save the file as UTF-8",
                )
            ]
        ) from None


# --- pass 3: shape ------------------------------------------------------------------------

_TAG_MODELS: dict[str, type[Any]] = {
    "<object>": ObjectEntry,
    "<thread>": ThreadEntry,
    "<repeat>": RepeatBlock,
}


def _check_shape(source: Source, doc: Document) -> None:
    """Run the pydantic models over the data; report each error where it was written."""
    try:
        ScenarioFile.model_validate(doc.data)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        # `{refcont: 1}` is one mistake, not two: an unknown key that is close to a missing
        # one explains the missing one.
        meant = {
            (tuple(error["loc"][:-1]), closest(str(error["loc"][-1]), _keys_at(error["loc"])))
            for error in errors
            if error["type"] == "extra_forbidden"
        }
        for error in errors:
            loc = tuple(error["loc"])
            if error["type"] == "missing" and (loc[:-1], loc[-1]) in meant:
                continue
            _report_shape_error(source, doc, error)


def _report_shape_error(source: Source, doc: Document, error: Any) -> None:
    loc = tuple(error["loc"])
    path, rest = _split_loc(doc.data, loc)
    kind = error["type"]
    value = error["input"]
    if kind == "missing":
        source.error(doc.locate(path), path, f"missing required key {rest[0]!r}")
    elif kind == "extra_forbidden":
        key = str(path[-1])
        known = _keys_at(loc)
        close = closest(key, known)
        hint = f"did you mean {close!r}?" if close else f"the keys here are {_one_of(known)}"
        source.error(doc.locate_key(path), path[:-1], f"unknown key {clip(repr(key))}", hint)
    elif rest == ("[key]",):
        message, advice = _key_message(path, value)
        source.error(doc.locate_key(path), path[:-1], message, advice)
    else:
        message, advice = _value_message(doc, path, kind, value, error.get("ctx") or {})
        source.error(doc.locate(path), path, message, advice)


def _split_loc(data: Any, loc: tuple[Any, ...]) -> tuple[DocPath, tuple[Any, ...]]:
    """Split pydantic's ``loc`` into the document path it reaches and what is left over.

    Union alternatives (``TAGS``) are dropped: they are not in the document.
    """
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif part in TAGS:
            continue
        else:
            return tuple(path), loc[i:]
        path.append(part)
    return tuple(path), ()


def _keys_at(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The keys allowed in the mapping that holds the key at pydantic's ``loc``."""
    parent = loc[:-1]
    if parent and parent[-1] in _TAG_MODELS:
        model = _TAG_MODELS[parent[-1]]
    elif parent == ("timing",):
        model = TimingEntry
    else:
        model = ScenarioFile
    return tuple(model.model_fields)


def _key_message(path: DocPath, key: Any) -> tuple[str, str | None]:
    section = path[0]
    if section == "expect":
        return _unknown_choice("runtime", key, RUNTIMES)
    if section == "timing":
        return _unknown_choice("micro-step kind", key, MICRO_KINDS)
    return _bad_name(key)


def _bad_name(name: Any) -> tuple[str, str | None]:
    message = (
        f"{show_value(name)} is not a valid name: names are letters, digits and _, "
        "not starting with a digit"
    )
    if not isinstance(name, str) or not name:
        return message, None
    fixed = re.sub(r"\W", "_", name, flags=re.ASCII)
    fixed = "_" + fixed if fixed[0].isdigit() else fixed
    return message, f"did you mean {fixed!r}?"


def _unknown_choice(what: str, value: str, choices: Sequence[str]) -> tuple[str, str | None]:
    close = closest_runtime(value) if choices is RUNTIMES else closest(value, choices)
    hint = f"did you mean {close!r}?" if close else f"expected {_one_of(choices)}"
    return f"unknown {what} {show_value(value)}", hint


def _value_message(
    doc: Document, path: DocPath, kind: str, value: Any, ctx: dict[str, Any]
) -> tuple[str, str | None]:
    if kind == "refsim":
        return str(ctx["message"]), None
    choice = _CHOICES.get(_section(path))
    if kind == "literal_error" and isinstance(value, str) and choice is not None:
        return _unknown_choice(choice[0], value, choice[1])
    if kind == "string_pattern_mismatch":
        return _bad_name(value)
    if kind == "too_short":
        short = _too_short(path)
        if short is not None:
            return short, None
    shown = doc.shown(path, value)
    message = f"expected {_expected(path)}, got {shown}"
    if isinstance(value, bool) and kind in ("string_type", "literal_error"):
        return message, f"YAML reads {shown} as a boolean; write '{shown}' in quotes for text"
    if kind == "list_type" and isinstance(value, str) and _section(path) == "thread":
        return message, f"write the ops as a list: {path[-1]}: [{value}]"
    return message, None


_CHOICES: dict[str, tuple[str, Sequence[str]]] = {
    "runtime": ("runtime", RUNTIMES),
    "anomaly": ("anomaly kind", ANOMALY_KINDS),
}


def _section(path: DocPath) -> str:
    """What kind of node is at ``path``: a key of ``_EXPECTED``."""
    if not path:
        return ""
    head, n, last = str(path[0]), len(path), path[-1]
    if head == "threads" and n >= 2:
        if n == 2:
            return "thread"
        if isinstance(last, int):
            return "op"
        return "count" if n == 3 and last == "count" else str(last)
    if head == "objects" and n >= 3 and path[2] in ("owner", "immortal", "deferred"):
        return f"object.{path[2]}"
    if head in _DECLARATIONS:
        return head if n == 1 else head[:-1]
    if head == "expect":
        return ("expect", "anomalies", "anomaly")[min(n, 3) - 1]
    if head == "timing" and n >= 2:
        return f"timing.{path[1]}"
    if head == "processes" and n >= 2:
        return "process" if n == 2 else "process thread"
    return head


_EXPECTED = {
    "": "a mapping",
    "name": "a non-empty string",
    "description": "a string",
    "runtime": "a runtime (unsafe, gil, atomic, free-threaded, pypy or jython)",
    "objects": "a mapping of object names to refcounts",
    "object": "a refcount of at least 1 (an object at refcount 0 has been freed already)",
    "object.owner": "the name of the thread that owns it",
    "object.immortal": "true or false",
    "object.deferred": "true or false",
    "variables": "a mapping of variable names to integers",
    "variable": "an integer",
    "locks": "a list of lock names",
    "lock": "a lock name",
    "events": "a list of event names",
    "event": "an event name",
    "semaphores": "a mapping of semaphore names to initial counts",
    "semaphore": "an initial count of 0 or more",
    "queues": "a mapping of queue names to sizes (maxsize)",
    "queue": "a maxsize of at least 1 (Python's Queue(0) is unbounded; refsim's queues "
    "have a size)",
    "conditions": "a mapping of condition names to the locks they are over",
    "condition": "the name of a lock declared under locks:",
    "threads": "a mapping of thread names to lists of ops",
    "thread": "a list of ops, or {ops: [...], count: n}",
    "ops": "a list of ops",
    "op": "an op like 'incref obj', or a {repeat: n, ops: [...]} block",
    "repeat": "a positive integer repeat count",
    "count": "a positive integer count",
    "processes": "a mapping of process names to lists of thread names",
    "process": "a list of thread names",
    "process thread": "a thread name",
    "timing": "a mapping of timing settings (cores, costs, jitter, switch_interval)",
    "timing.cores": "a positive integer number of cores",
    "timing.costs": "a mapping of micro-step kinds to durations",
    "timing.jitter": "a number from 0 to 1",
    "expect": "a mapping of runtimes to lists of anomaly kinds",
    "anomalies": "a list of anomaly kinds",
    "anomaly": "an anomaly kind",
}


def _expected(path: DocPath) -> str:
    """What belongs at ``path``, in words, for "expected ..., got ..." messages."""
    # Every path pydantic can complain about has an entry; the default is belt and braces
    # for the promise that loading raises nothing but ScenarioError.
    return _EXPECTED.get(_section(path), "a different value")


def _too_short(path: DocPath) -> str | None:
    section = _section(path)
    if section == "threads":
        return "a scenario needs at least one thread, got threads: {}"
    if section in ("thread", "ops") and len(path) <= 3:
        return f"thread {path[1]!r} has no ops"
    if section == "ops":
        return "a repeat block needs at least one op, got ops: []"
    if section == "process":
        return f"process {path[1]!r} runs no threads: list at least one"
    return None


def _one_of(choices: Sequence[str]) -> str:
    items = list(choices)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


# --- pass 4: meaning ----------------------------------------------------------------------

_DECLARATIONS = (
    "objects", "variables", "locks", "events", "semaphores", "queues", "conditions",
)  # fmt: skip
"""The sections that declare names, in the order a message lists them."""
_SECTIONS = {section[:-1]: section for section in _DECLARATIONS}
_SECTIONS["thread"] = "threads"
_NAMESPACE_HINT = "objects, variables, locks, events, semaphores, queues, conditions and "
_NAMESPACE_HINT += "threads share one set of names"


@dataclass(frozen=True, slots=True)
class _OpNode:
    """An op as written (``op`` is ``None`` if it could not be read)."""

    op: Op | None
    path: DocPath


@dataclass(frozen=True, slots=True)
class _RepeatNode:
    """A ``repeat`` block, not yet expanded."""

    times: int
    body: tuple[_OpNode | _RepeatNode, ...]
    path: DocPath


_Block = tuple[_OpNode | _RepeatNode, ...]


@dataclass(frozen=True, slots=True)
class _ThreadPlan:
    """A thread as written: its ops not expanded, its copies not made."""

    name: str
    count: int | None
    """``None`` without ``count:`` (one thread named ``name``)."""
    body: _Block
    path: DocPath


class _Checker:
    """The checks a shape cannot express; reads the data defensively, since it may be
    malformed (pass 3 has reported that already)."""

    def __init__(self, source: Source, doc: Document, limits: Limits) -> None:
        self.source = source
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.limits = limits
        self.known: dict[str, tuple[str, int]] = {}
        """Each declared name: its kind (object, variable, lock, ..., thread) and line."""
        self.counted: dict[str, int] = {}
        """Threads written with ``count: n``: their name and n (their copies are NAME1..)."""
        self.suggestions: dict[tuple[str, tuple[str, ...]], str | None] = {}
        conditions = self.data.get("conditions")
        self.condition_locks: dict[str, str] = (
            {c: lock for c, lock in conditions.items() if isinstance(lock, str)}
            if isinstance(conditions, dict)
            else {}
        )
        """Each condition's lock, as written."""

    def check(self) -> tuple[_ThreadPlan, ...]:
        """Report what is wrong; return the threads, ready to expand if nothing is."""
        self._declarations()
        self._conditions()
        self._object_traits()
        plans = tuple(self._plans())
        if self._within_op_limit(plans):
            for plan in plans:
                self._check_held(plan, plan.body, set(), set(), again=False)
                self._check_joins(plan, plan.body)
            self._check_thread_names(plans)
            self._check_processes(plans)
        self._check_expect()
        self._check_scenario_name()
        return plans

    def error(self, path: DocPath, message: str, hint: str | None = None) -> None:
        self.source.error(self.doc.locate(path), path, message, hint)

    def _check_scenario_name(self) -> None:
        """A name is printed on every screen, on one line: it may not hold a control
        character (which could drive the terminal), a line break or a bidirectional
        control (which reorders the text around it)."""
        name = self.data.get("name")
        if not isinstance(name, str):
            return
        index = next((i for i, c in enumerate(name) if _unprintable(c)), None)
        if index is None:
            return
        char = name[index]
        line, column = self.doc.locate(("name",))
        column = _raw_column(self.source.lines[line - 1], column, index)
        kept = "".join(" " if c.isspace() else "" if _unprintable(c) else c for c in name)
        cleaned = " ".join(kept.split())
        where = " (a description may span lines)" if char.isspace() else ""
        self.source.error(
            (line, column),
            ("name",),
            f"the name holds {_unprintable(char)} (U+{ord(char):04X}); a name is printed on "
            "every screen, on one line, so it may hold no control characters",
            f"did you mean {cleaned!r}?{where}"
            if cleaned
            else "write the name in letters, digits, spaces and punctuation",
        )

    def _declarations(self) -> None:
        found: list[tuple[Mark, str, str, DocPath]] = []
        for section in _DECLARATIONS:
            kind = section[:-1]
            entries = self.data.get(section)
            if isinstance(entries, dict):
                for name in entries:
                    where: DocPath = (section, name)
                    found.append((self.doc.locate_key(where), name, kind, where))
            elif isinstance(entries, list):
                for i, name in enumerate(entries):
                    if isinstance(name, str):
                        found.append((self.doc.locate((section, i)), name, kind, (section, i)))
        found.sort(key=lambda entry: entry[0])
        for mark, name, kind, path in (*found, *self._threads()):
            if name in self.known:
                first, line = self.known[name]
                if first == kind == "thread":
                    continue  # two threads of one name: _check_thread_names says so
                self.source.error(
                    mark,
                    path,
                    f"name {name!r} is already declared as {_article(first)} {first} on "
                    f"line {line}",
                    _NAMESPACE_HINT,
                )
            else:
                self.known[name] = (kind, mark[0])

    def _threads(self) -> list[tuple[Mark, str, str, DocPath]]:
        """Each thread's name (a counted thread's copies' names), where it is written."""
        threads = self.data.get("threads")
        if not isinstance(threads, dict):
            return []
        found = []
        for name, value in threads.items():
            path: DocPath = ("threads", name)
            mark = self.doc.locate_key(path)
            count = None
            if isinstance(value, dict) and "count" in value:
                count = _count_or_one(value["count"])
            if count is None:
                found.append((mark, name, "thread", path))
            elif count <= self.limits.max_ops:  # more is refused by the op limit
                self.counted[name] = count
                found += [(mark, f"{name}{i}", "thread", path) for i in range(1, count + 1)]
        return found

    def _object_traits(self) -> None:
        """An owner is a thread; an immortal object has no owner and is not deferred."""
        objects = self.data.get("objects")
        if not isinstance(objects, dict):
            return
        for name, entry in objects.items():
            if not isinstance(entry, dict):
                continue
            owner = entry.get("owner")
            if isinstance(owner, str) and owner:
                declared = self.known.get(owner)
                if declared is None or declared[0] != "thread":
                    close = self._closest(owner, ("thread",))
                    threads = [n for n, (k, _) in self.known.items() if k == "thread"]
                    hint = f"did you mean {close!r}?" if close else None
                    hint = hint or "the threads are " + ", ".join(threads[:8])
                    if owner in self.counted:
                        hint = f"count: {self.counted[owner]} names its copies {owner}1, ...: "
                        hint += "name one of them"
                    what = "not a thread" if declared is None else f"{_article(declared[0])} "
                    what += "" if declared is None else f"{declared[0]}, not a thread"
                    self.error(
                        ("objects", name, "owner"),
                        f"object {name!r} is owned by {owner!r}, which is {what}",
                        hint,
                    )
            if entry.get("immortal") is True and entry.get("deferred") is True:
                self.error(
                    ("objects", name, "deferred"),
                    f"object {name!r} cannot be both immortal and deferred",
                    "an immortal object is never freed; a deferred one is freed by the "
                    "collector: choose one",
                )
            if entry.get("immortal") is True and isinstance(owner, str):
                self.error(
                    ("objects", name, "owner"),
                    f"immortal object {name!r} cannot have an owner",
                    "CPython's immortal objects belong to no thread (their ob_tid is 0)",
                )

    def _conditions(self) -> None:
        """Each condition is over a declared lock."""
        conditions = self.data.get("conditions")
        if not isinstance(conditions, dict):
            return
        for name, lock in conditions.items():
            if not isinstance(lock, str) or not lock:
                continue
            declared = self.known.get(lock)
            if declared is not None and declared[0] == "lock":
                continue
            close = self._closest(lock, ("lock",))
            hint = f"did you mean {close!r}?" if close else "declare it under locks:"
            if declared is None:
                message = f"condition {name!r} is over {lock!r}, which is not a declared lock"
            else:
                kind = declared[0]
                message = (
                    f"condition {name!r} is over {lock!r}, which is {_article(kind)} {kind}, "
                    "not a lock"
                )
            self.error(("conditions", name), message, hint)

    def _plans(self) -> list[_ThreadPlan]:
        threads = self.data.get("threads")
        if not isinstance(threads, dict):
            return []
        plans = []
        for name, value in threads.items():
            path: DocPath = ("threads", name)
            count = None
            items, items_path = value, path
            if isinstance(value, dict):
                items, items_path = value.get("ops"), (*path, "ops")
                if "count" in value:
                    count = _count_or_one(value["count"])
            body = self._block(items, items_path, 0) if isinstance(items, list) else ()
            plans.append(_ThreadPlan(name, count, body, path))
        return plans

    def _block(self, items: list[Any], path: DocPath, depth: int) -> _Block:
        out: list[_OpNode | _RepeatNode] = []
        for i, item in enumerate(items):
            here = (*path, i)
            if isinstance(item, str):
                out.append(_OpNode(self._op(item, here), here))
            elif isinstance(item, dict):
                if depth == MAX_REPEAT_DEPTH:
                    self.error(
                        here,
                        f"repeat blocks nest more than {MAX_REPEAT_DEPTH} deep here",
                        "flatten the inner blocks: repeat counts multiply",
                    )
                    out.append(_OpNode(None, here))
                    continue
                ops = item.get("ops")
                body = self._block(ops, (*here, "ops"), depth + 1) if isinstance(ops, list) else ()
                out.append(_RepeatNode(_count_or_one(item.get("repeat")), body, here))
            else:
                out.append(_OpNode(None, here))
        return tuple(out)

    def _op(self, text: str, path: DocPath) -> Op | None:
        """Read one op, reporting what is wrong with it."""
        try:
            op = parse_op(text)
        except OpSyntaxError as e:
            self.error(path, e.message, e.hint)
            return None
        return op if op.subject is None else self._named(op, path)

    def _named(self, op: Op, path: DocPath) -> Op | None:
        """``op`` with the kind that fits what its name is declared as (``acquire S`` of a
        semaphore), or ``None`` after reporting a name that is not declared as one."""
        name = op.subject
        assert name is not None
        wants = OP_SUBJECTS[op.kind]
        declared = self.known.get(name)
        if declared is not None and declared[0] in wants:
            fitting = op.kind.for_subject(declared[0])
            assert fitting is not None
            return Op(fitting, name, op.amount)
        want = " or ".join(wants)
        close = self._closest(name, wants)
        hint = f"did you mean {close!r}?" if close else None
        if name in self.counted:
            count = self.counted[name]
            copies = f"{name}1" if count == 1 else f"{name}1..{name}{count}"
            hint = f"count: {count} names its copies {copies}: {op.kind.verb} each one"
        if declared is None and wants == ("thread",):
            threads = [n for n, (k, _) in self.known.items() if k == "thread"]
            listed = ", ".join(threads[:8]) + (", ..." if len(threads) > 8 else "")
            hint = hint or f"the threads are {listed}"
            self.error(path, f"{str(op)!r} names {name!r}, which is not a thread", hint)
        elif declared is None:
            message = f"{str(op)!r} names an undeclared {want} {name!r}"
            hint = hint or "declare it under " + " or ".join(f"{_SECTIONS[w]}:" for w in wants)
            self.error(path, message, hint)
        else:
            kind = declared[0]
            message = f"{name} is {_article(kind)} {kind}; {op.kind.verb} takes {_article(want)}"
            self.error(path, f"{message} {want}", hint)
        return None

    def _closest(self, name: str, kinds: tuple[str, ...]) -> str | None:
        """The declared name of one of ``kinds`` closest to ``name``; remembered, since a
        misspelt name tends to be misspelt the same way many times."""
        key = (name, kinds)
        if key not in self.suggestions:
            names = [n for n, (k, _) in self.known.items() if k in kinds]
            self.suggestions[key] = closest(name, names)
        return self.suggestions[key]

    def _within_op_limit(self, plans: Sequence[_ThreadPlan]) -> bool:
        # Counted, never expanded: `count: 1000000000` must fail fast, not fill memory.
        sizes = [(plan.count or 1) * _size(plan.body) for plan in plans]
        total = sum(sizes)
        if total <= self.limits.max_ops:
            return True
        biggest = max(range(len(plans)), key=lambda i: sizes[i])
        hint = f"thread {plans[biggest].name!r} has {sizes[biggest]:,} of them"
        self.error(
            plans[biggest].path,
            f"the program has {total:,} ops after expanding repeat and count, over the "
            f"limit of {self.limits.max_ops:,}; raise it with --max-ops",
            hint if len(plans) > 1 else None,
        )
        return False

    def _check_held(
        self,
        plan: _ThreadPlan,
        body: _Block,
        held: set[str],
        reported: set[DocPath],
        *,
        again: bool,
    ) -> None:
        """Walk the thread's ops in order, knowing which locks it holds at each: ``release
        L`` must find L held, and ``wait C``, ``notify C`` and ``notify_all C`` must find C's
        lock held (Python raises ``RuntimeError`` otherwise).

        A repeat body runs at most twice here: the locks held after one pass are those the
        body last acquired plus those it never touched, so the third pass and later start
        exactly like the second and find nothing new.
        """
        for item in body:
            if isinstance(item, _RepeatNode):
                for i in range(min(item.times, 2)):
                    self._check_held(plan, item.body, held, reported, again=again or i > 0)
                continue
            op = item.op
            if op is None or op.subject is None:
                continue
            when = " the second time through its repeat block" if again else ""
            if op.kind is OpKind.ACQUIRE:
                held.add(op.subject)
            elif op.kind is OpKind.RELEASE:
                if op.subject in held:
                    held.discard(op.subject)
                elif item.path not in reported:
                    reported.add(item.path)
                    self.error(
                        item.path,
                        f"thread {plan.name!r} releases lock {op.subject!r}{when} without "
                        "holding it",
                        f"acquire {op.subject} earlier in the same thread: a thread may "
                        "release only a lock it holds",
                    )
            elif op.kind in _NEEDS_LOCK:
                lock = self.condition_locks.get(op.subject)
                if lock is None or lock in held or item.path in reported:
                    continue
                reported.add(item.path)
                doing = "waits on" if op.kind is OpKind.CONDITION_WAIT else "notifies"
                python = "wait on" if op.kind is OpKind.CONDITION_WAIT else "notify on"
                self.error(
                    item.path,
                    f"thread {plan.name!r} {doing} condition {op.subject!r}{when} without "
                    f"holding its lock {lock!r}",
                    f"acquire {lock} first (Python raises RuntimeError: cannot {python} "
                    "un-acquired lock)",
                )

    def _check_joins(self, plan: _ThreadPlan, body: _Block) -> None:
        """No thread joins itself (Python raises ``RuntimeError``: it would wait forever)."""
        names = (
            {plan.name}
            if plan.count is None
            else {f"{plan.name}{i}" for i in range(1, plan.count + 1)}
        )
        for item in _ops_of(body):
            op = item.op
            if op is None or op.kind is not OpKind.JOIN or op.subject not in names:
                continue
            if plan.count is None:
                who = f"thread {plan.name!r}"
            else:
                who = f"copy {op.subject[len(plan.name) :]} of thread {plan.name!r}"
            self.error(
                item.path,
                f"{who} joins itself: it would wait for its own end forever",
                "Python raises RuntimeError: cannot join current thread",
            )

    def _check_thread_names(self, plans: Sequence[_ThreadPlan]) -> None:
        if sum(plan.count or 1 for plan in plans) > self.limits.max_ops:
            return  # only threads without ops can get here: already reported
        taken: dict[str, str] = {}
        for plan in plans:
            line = self.doc.locate_key(plan.path)[0]
            if plan.count is None:
                names = [(plan.name, f"thread {plan.name!r} (line {line})", "")]
            else:
                names = [
                    (
                        f"{plan.name}{i}",
                        f"copy {i} of thread {plan.name!r} (count: {plan.count}, line {line})",
                        f"copy {i} of thread {plan.name!r} is named",
                    )
                    for i in range(1, plan.count + 1)
                ]
            for name, owner, copy in names:
                if name in taken:
                    subject = f"{copy} {name!r}, but that" if copy else f"thread name {name!r}"
                    self.source.error(
                        self.doc.locate_key(plan.path),
                        plan.path,
                        f"{subject} is already taken by {taken[name]}",
                        "thread names must be unique once count: makes its copies",
                    )
                    break
                taken[name] = owner

    def _check_processes(self, plans: Sequence[_ThreadPlan]) -> None:
        """Each thread in exactly one process; a counted thread's name stands for all its
        copies."""
        processes = self.data.get("processes")
        if not isinstance(processes, dict) or not processes:
            return
        copies = {
            plan.name: [plan.name]
            if plan.count is None
            else [f"{plan.name}{i}" for i in range(1, plan.count + 1)]
            for plan in plans
        }
        threads = [name for names in copies.values() for name in names]
        known = set(threads)
        placed: dict[str, str] = {}
        for process, names in processes.items():
            if not isinstance(names, list):
                continue
            for j, name in enumerate(names):
                if not isinstance(name, str):
                    continue
                path: DocPath = ("processes", process, j)
                if name in copies:
                    members = copies[name]
                elif name in known:
                    members = [name]
                else:
                    close = closest(name, [*copies, *threads])
                    hint = f"did you mean {close!r}?" if close else None
                    self.error(
                        path, f"process {process!r} names {name!r}, which is not a thread",
                        hint or f"the threads are {', '.join(threads)}",
                    )  # fmt: skip
                    continue
                for member in members:
                    if member in placed and placed[member] != process:
                        self.error(
                            path,
                            f"thread {member!r} is already in process {placed[member]!r}: "
                            "a thread runs in exactly one process",
                        )
                        break
                    placed[member] = process
        for plan in plans:
            for item in _ops_of(plan.body):
                op = item.op
                if op is None or op.kind is not OpKind.JOIN or op.subject not in placed:
                    continue
                for member in copies[plan.name]:
                    mine, theirs = placed.get(member), placed[op.subject]
                    if mine is not None and mine != theirs:
                        self.error(
                            item.path,
                            f"thread {member!r} (process {mine!r}) joins {op.subject!r}, "
                            f"which runs in process {theirs!r}",
                            "a thread can join only a thread of its own process",
                        )
                        break
        missing = [name for name in threads if name not in placed]
        if missing:
            self.source.error(
                self.doc.locate_key(("processes",)),
                ("processes",),
                f"thread{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"{'are' if len(missing) > 1 else 'is'} in no process",
                "list every thread under one process (or leave out processes: for one)",
            )

    def _check_expect(self) -> None:
        expect = self.data.get("expect")
        if not isinstance(expect, dict):
            return
        for runtime, kinds in expect.items():
            if not isinstance(kinds, list):
                continue
            seen: dict[str, int] = {}
            for j, kind in enumerate(kinds):
                if not isinstance(kind, str):
                    continue
                path = ("expect", runtime, j)
                if kind in seen:
                    self.error(
                        path,
                        f"anomaly kind {kind!r} is listed twice for {runtime} "
                        f"(first on line {seen[kind]})",
                    )
                else:
                    seen[kind] = self.doc.locate(path)[0]


_NEEDS_LOCK = frozenset({OpKind.CONDITION_WAIT, OpKind.NOTIFY, OpKind.NOTIFY_ALL})


def _ops_of(body: _Block) -> list[_OpNode]:
    """Every op written in ``body``, repeat blocks' once each."""
    out: list[_OpNode] = []
    for item in body:
        if isinstance(item, _OpNode):
            out.append(item)
        else:
            out += _ops_of(item.body)
    return out


def _count_or_one(value: Any) -> int:
    """A valid count, or 1 for an invalid one (already reported) so counting can go on."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return value if ok else 1


def _size(body: _Block) -> int:
    """How many ops ``body`` expands to, computed without expanding it."""
    return sum(1 if isinstance(item, _OpNode) else item.times * _size(item.body) for item in body)


_CONTROL_NAMES = {
    0x00: "a NUL",
    0x07: "a bell",
    0x08: "a backspace",
    0x09: "a tab",
    0x0A: "a line break",
    0x0D: "a carriage return",
    0x1B: "an escape",
    0x7F: "a delete",
    0x85: "a line break",
    0x9B: "a control sequence introducer",
}
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unprintable(char: str) -> str:
    """What ``char`` is, if a name may not hold it: a control character (C0, DEL, C1), a
    line or paragraph separator, or a bidirectional control; else the empty string."""
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return _CONTROL_NAMES.get(code, "a control character")
    if char in "\u2028\u2029":
        return "a line break"
    if char in _BIDI:
        return "a bidirectional control"
    return ""


_ESCAPE_LENGTH = {"x": 4, "u": 6, "U": 10}
"""How many characters a double-quoted YAML escape takes in the file (``\\e``: 2)."""


def _raw_column(line: str, column: int, index: int) -> int:
    """The column, in the file's ``line``, of character ``index`` of the string whose node
    starts at ``column``: past the escapes of a double-quoted string and the doubled
    quotes of a single-quoted one. The node's own column when the string does not end on
    its first line (a folded string: the caret then marks where it starts)."""
    raw = line[column - 1 :]
    quote = raw[:1] if raw[:1] in ("'", '"') else ""
    at = len(quote)
    for _ in range(index):
        if at >= len(raw):
            return column
        if quote == '"' and raw[at] == "\\":
            at += _ESCAPE_LENGTH.get(raw[at + 1 : at + 2], 2)
        elif quote == "'" and raw[at : at + 2] == "''":
            at += 2
        else:
            at += 1
    return column + at if at < len(raw) else column


# --- building the scenario ----------------------------------------------------------------


def _build(doc: Document, plans: Sequence[_ThreadPlan], filename: str) -> Scenario:
    """The ``Scenario`` of a file that passed every check."""
    model = ScenarioFile.model_validate(doc.data)
    objects = tuple(
        (name, value if isinstance(value, int) else value.refcount)
        for name, value in model.objects.items()
    )
    long_form = {name: v for name, v in model.objects.items() if not isinstance(v, int)}
    threads: list[ThreadSpec] = []
    for plan in plans:
        ops = _expand(plan.body)
        if plan.count is None:
            threads.append(ThreadSpec(plan.name, ops))
        else:
            threads.extend(ThreadSpec(f"{plan.name}{i}", ops) for i in range(1, plan.count + 1))
    return Scenario(
        name=model.name if model.name is not None else _name_of(filename),
        threads=tuple(threads),
        objects=objects,
        variables=tuple(model.variables.items()),
        locks=tuple(model.locks),
        events=tuple(model.events),
        semaphores=tuple(model.semaphores.items()),
        queues=tuple(model.queues.items()),
        conditions=tuple(model.conditions.items()),
        owners=tuple((n, v.owner) for n, v in long_form.items() if v.owner is not None),
        immortal=tuple(n for n, v in long_form.items() if v.immortal),
        deferred=tuple(n for n, v in long_form.items() if v.deferred),
        runtime=Runtime(model.runtime),
        description=model.description if model.description is not None else "",
        timing=_timing(model.timing),
        processes=_processes(model.processes, plans),
        expect=tuple(
            (Runtime(runtime), tuple(AnomalyKind(kind) for kind in kinds))
            for runtime, kinds in model.expect.items()
        ),
        source=filename,
    )


def _name_of(filename: str) -> str:
    """A scenario's name when the file gives none: its file's stem, as text that prints
    anywhere, a figure's title included: a byte that is not UTF-8, and a character a
    ``name:`` may not hold (a control character), as U+FFFD."""
    stem = Path(filename).stem
    text = stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("\ufffd" if _unprintable(c) else c for c in text)


def _processes(
    processes: dict[str, list[str]], plans: Sequence[_ThreadPlan]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ``processes:`` section with each counted thread's name expanded to its copies."""
    copies = {
        plan.name: [f"{plan.name}{i}" for i in range(1, plan.count + 1)]
        for plan in plans
        if plan.count is not None
    }
    out = []
    for process, names in processes.items():
        members: list[str] = []
        for name in names:
            members += copies.get(name, [name])
        out.append((process, tuple(members)))
    return tuple(out)


def _timing(timing: TimingEntry | None) -> Timing | None:
    if timing is None:
        return None
    return Timing(
        cores=timing.cores,
        costs=tuple((MicroKind(kind), ns) for kind, ns in timing.costs.items()),
        jitter=float(timing.jitter),
        switch_interval=timing.switch_interval,
    )


def _expand(body: _Block) -> tuple[Op, ...]:
    ops: list[Op] = []
    for item in body:
        if isinstance(item, _OpNode):
            assert item.op is not None
            ops.append(item.op)
        else:
            ops.extend(_expand(item.body) * item.times)
    return tuple(ops)
