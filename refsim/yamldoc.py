"""YAML text to plain data that remembers where each part was written.

The second pass of loading a scenario (``refsim.loader``): PyYAML's safe *parser* produces
events and :class:`Composer` builds dicts, lists and scalars from them itself. No PyYAML
composer or constructor ever runs, so tags, anchors and aliases are refused before any
Python object exists (nothing from the file can execute, and a billion-laughs file never
expands), duplicate keys are caught, nesting is bounded, and each node's line and column
are recorded under its document path. Mistakes are collected in a :class:`Source`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from refsim.errors import Diagnostic
from refsim.schema import MAX_INT, show_value

__all__ = ["BREAK", "MAX_DEPTH", "Composer", "DocPath", "Document", "Mark", "Source", "clip"]

BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""Line breaks as YAML (and so PyYAML's marks) count them."""

TICK_EVERY = 1024
"""YAML events between two calls of a composer's ``tick``."""

MAX_DEPTH = 64
"""How deeply YAML collections may nest (a file nesting deeper is refused)."""

DocPath = tuple[str | int, ...]
"""Where a node is in the document: keys and list indices from the top."""
Mark = tuple[int, int]
"""A line and a column, both from 1."""


_LONG_LINE = 160
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _yaml11_reading(text: str, value: int) -> str | None:
    """The message for a plain number that YAML 1.1 (PyYAML's) reads as another number
    than it looks: a leading 0 makes it octal (``010`` is 8), colons make it base 60
    (``1:30`` is 90); ``None`` for one that means what it says."""
    digits = text.lstrip("+-").replace("_", "")
    if ":" in digits:
        why = "YAML 1.1 reads numbers with colons in base 60"
        instead = ""
    elif len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
        sign = "-" if text.startswith("-") else ""
        meant = sign + (digits.lstrip("0") or "0")
        why = "YAML 1.1 reads a number with a leading 0 as octal"
        instead = f", or {meant} without the 0"
    else:
        return None
    return f"{text} is read as {value:,} ({why}): write {value} if that is what you mean{instead}"


class Source:
    """The text being loaded and the diagnostics found in it so far."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename = filename
        self.text = text
        self.lines = BREAK.split(text)
        self.diagnostics: list[Diagnostic] = []
        self.quiet: list[DocPath] = []
        """Nodes already reported as unusable (tags, aliases, bad numbers): any other
        complaint about them or inside them would be noise."""

    def error(
        self,
        mark: Mark,
        path: DocPath,
        message: str,
        hint: str | None = None,
        *,
        always: bool = False,
    ) -> None:
        """Report a mistake at ``mark`` (unless it is about a node set aside as quiet)."""
        if not always and any(path[: len(q)] == q for q in self.quiet):
            return
        line, column = mark
        excerpt = self._excerpt(line, column)
        self.diagnostics.append(
            Diagnostic(self.filename, line, column, _format_path(path), message, excerpt, hint)
        )

    def _excerpt(self, line: int, column: int) -> str | None:
        """The line to show under a message, or ``None`` if showing it would not help."""
        if not 0 < line <= len(self.lines):
            return None
        text = self.lines[line - 1]
        if len(text) > _LONG_LINE:
            # A caret far along a huge line helps nobody; a cut line keeps the caret right.
            if column > _LONG_LINE - 20:
                return None
            text = text[:_LONG_LINE] + " …"
        if not text.strip():
            return None
        # Control characters would garble a terminal; one replacement each keeps columns.
        return _CONTROL.sub("\ufffd", text)


def _format_path(path: DocPath) -> str:
    """``("threads", "T1", 0, "repeat")`` -> ``threads.T1[0].repeat``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[\w-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{clip(repr(part))}]"
    return out


def clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Invalid:
    """Stands for a node that was reported at composition (an alias, a number out of range)."""

    def __repr__(self) -> str:
        return "<invalid>"


_INVALID = _Invalid()


@dataclass(slots=True)
class Document:
    """The data of a file, and where each part of it was written."""

    data: Any = None
    marks: dict[DocPath, Mark] = field(default_factory=dict)
    """The start of each node."""
    key_marks: dict[DocPath, Mark] = field(default_factory=dict)
    """The start of the key of each mapping entry."""
    texts: dict[DocPath, str] = field(default_factory=dict)
    """The text of plain scalars that YAML read as something other than a string."""

    def locate(self, path: DocPath) -> Mark:
        """Where ``path`` was written, or its nearest ancestor that was."""
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def locate_key(self, path: DocPath) -> Mark:
        return self.key_marks.get(path) or self.locate(path)

    def shown(self, path: DocPath, value: object) -> str:
        """``value`` for a message: as written, if YAML read it as a non-string scalar."""
        text = self.texts.get(path)
        return clip(text) if text is not None else show_value(value)


@dataclass(slots=True)
class _Frame:
    """An open collection while composing."""

    value: dict[str, Any] | list[Any]
    path: DocPath
    keep: bool
    """False inside a node that is not part of the data (a duplicate or non-name key)."""
    is_key: bool = False
    want_value: bool = False
    """For a mapping: the next node is a value (else a key)."""
    key: str = ""
    skip_value: bool = False
    seen: dict[str, int] = field(default_factory=dict)
    """For a mapping: each key and the line it is first written on."""


class _Abort(Exception):
    """Composition cannot go on (nesting too deep); the reason is already reported."""


_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class Composer:
    """Builds plain data (dicts, lists, str, int, float, bool, None) from PyYAML's events."""

    def __init__(self, source: Source, *, tick: Callable[[], None] | None = None) -> None:
        self.source = source
        self.tick = tick
        """Called every ``TICK_EVERY`` events: a budget's check, which may raise to stop."""
        self.line = 1
        """The line of the last node read (how far a stopped reading got)."""
        self.doc = Document()
        self.stack: list[_Frame] = []
        self.has_root = False
        self.constructor = yaml.constructor.SafeConstructor()

    def compose(self) -> Document | None:
        """The document, or ``None`` if it could not be read to its end."""
        try:
            loader = yaml.SafeLoader(self.source.text)
        except yaml.YAMLError as e:  # the reader refuses control characters up front
            self._yaml_error(e)
            return None
        try:
            self._run(loader)
        except yaml.YAMLError as e:
            self._yaml_error(e)
            return None
        except RecursionError:  # belt and braces: composing is iterative, nesting bounded
            self.source.error((1, 1), (), "the YAML nests too deeply", always=True)
            return None
        except _Abort:
            return None
        finally:
            loader.dispose()
        if () in self.source.quiet:
            return None  # the whole document is an alias or tagged: reported already
        if not self.has_root or self.doc.data is None:
            self.source.error(
                (1, 1),
                (),
                "the file holds no YAML content; a scenario is a mapping with at least "
                "a `threads:` key",
                always=True,
            )
            return None
        if not isinstance(self.doc.data, dict):
            self.source.error(
                self.doc.marks[()],
                (),
                "a scenario must be a YAML mapping with keys such as `threads:` and "
                f"`objects:`, got {self.doc.shown((), self.doc.data)}",
                always=True,
            )
            return None
        return self.doc

    def _run(self, loader: Any) -> None:
        # ``loader`` is a yaml.SafeLoader, typed Any because PyYAML's parser is untyped.
        documents = 0
        tick, countdown = self.tick, TICK_EVERY
        while True:
            if tick is not None:
                countdown -= 1
                if not countdown:
                    tick()
                    countdown = TICK_EVERY
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self.source.error(
                        _mark(event.start_mark),
                        (),
                        "a scenario file holds one YAML document; a second one starts here",
                        "remove this `---` and what follows it, or split the file in two",
                        always=True,
                    )
                    return
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                self._end()
            elif isinstance(event, yaml.NodeEvent):
                self._node(event, loader)

    def _slot(self) -> tuple[str, DocPath, bool]:
        """Where the next node goes: its role (root, item, key or value), path and keep."""
        if not self.stack:
            return "root", (), True
        top = self.stack[-1]
        if isinstance(top.value, list):
            return "item", (*top.path, len(top.value)), top.keep
        if not top.want_value:
            return "key", top.path, False
        return "value", (*top.path, top.key), top.keep and not top.skip_value

    def _node(self, event: yaml.NodeEvent, loader: Any) -> None:
        role, path, keep = self._slot()
        mark = _mark(event.start_mark)
        self.line = mark[0]
        if keep and role != "key":
            self.doc.marks[path] = mark
        self._refuse_yaml_features(event, role, path, mark)
        collection = isinstance(event, yaml.CollectionStartEvent)
        if collection and len(self.stack) >= MAX_DEPTH:
            self.source.error(
                mark, (), f"the YAML nests more than {MAX_DEPTH} levels deep here", always=True
            )
            raise _Abort
        if role == "key":
            self._key(event, mark, collection)
            return
        if isinstance(event, yaml.ScalarEvent):
            self._attach(self._scalar(event, loader, path, keep, mark))
        elif isinstance(event, yaml.SequenceStartEvent):
            self.stack.append(_Frame([], path, keep))
        elif isinstance(event, yaml.MappingStartEvent):
            self.stack.append(_Frame({}, path, keep))
        else:
            self._attach(_INVALID)  # an alias, already reported

    def _refuse_yaml_features(
        self, event: yaml.NodeEvent, role: str, path: DocPath, mark: Mark
    ) -> None:
        # Tags could construct Python objects, anchors and aliases could expand a small
        # file into a huge one (billion laughs): scenario files are plain data. Only a
        # value is set aside as quiet: a key's path is its whole mapping's.
        if isinstance(event, yaml.AliasEvent):
            self.source.error(
                mark,
                path,
                f"YAML aliases are not allowed, found *{event.anchor}",
                "write the value out; use {repeat: n, ops: [...]} to repeat ops",
                always=True,
            )
            if role != "key":
                self.source.quiet.append(path)
            return
        if event.anchor is not None:
            self.source.error(
                mark,
                path,
                f"YAML anchors are not allowed, found &{event.anchor}",
                "remove the anchor; scenario files hold plain data",
                always=True,
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            self.source.error(
                mark,
                path,
                f"YAML tags are not allowed, found {_short_tag(tag)}",
                "remove the tag; scenario files hold plain data",
                always=True,
            )
            if role != "key":
                self.source.quiet.append(path)

    def _key(self, event: yaml.NodeEvent, mark: Mark, collection: bool) -> None:
        top = self.stack[-1]
        top.want_value = True
        top.skip_value = True
        if collection:
            self.source.error(
                mark,
                top.path,
                "a mapping key must be a name, got a "
                + ("list" if isinstance(event, yaml.SequenceStartEvent) else "mapping"),
                always=True,
            )
            frame_value: dict[str, Any] | list[Any] = (
                [] if isinstance(event, yaml.SequenceStartEvent) else {}
            )
            self.stack.append(_Frame(frame_value, top.path, False, is_key=True))
            return
        if not isinstance(event, yaml.ScalarEvent):
            return  # an alias key, already reported; its value is dropped with it
        text = event.value
        if not top.keep:
            return
        if text in top.seen:
            self.source.error(
                mark,
                top.path,
                f"duplicate key {clip(repr(text))} (first on line {top.seen[text]})",
                "each key may appear once in a mapping; merge the two entries",
                always=True,
            )
            return
        top.seen[text] = mark[0]
        top.key = text
        top.skip_value = False
        self.doc.key_marks[(*top.path, text)] = mark

    def _end(self) -> None:
        frame = self.stack.pop()
        if not frame.is_key:
            self._attach(frame.value)

    def _attach(self, value: Any) -> None:
        if not self.stack:
            self.doc.data = value
            self.has_root = True
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        else:
            if not top.skip_value:
                top.value[top.key] = value
            top.want_value = False

    def _scalar(
        self,
        event: yaml.ScalarEvent,
        loader: Any,
        path: DocPath,
        keep: bool,
        mark: Mark,
    ) -> Any:
        # A tagged scalar (already refused) is read as if untagged.
        plain = event.style is None
        tag = loader.resolve(yaml.ScalarNode, event.value, (plain, not plain))
        if tag == _NULL:
            value: Any = None
            if not event.value:
                return value  # shown as "null", not as the empty text it was written as
        elif tag == _BOOL:
            value = self.constructor.bool_values[event.value.lower()]
        elif tag == _INT:
            value = self._int(event.value, path, mark)
        elif tag == _FLOAT:
            value = self._float(event.value)
        else:
            return event.value  # strings, and timestamps kept as written
        if keep:
            self.doc.texts[path] = event.value
        return value

    def _float(self, text: str) -> Any:
        try:
            return self.constructor.construct_yaml_float(yaml.ScalarNode(_FLOAT, text))
        except ValueError:
            return text  # YAML 1.1's pattern admits a few texts that are no number

    def _int(self, text: str, path: DocPath, mark: Mark) -> Any:
        # A length check first: int() of a huge digit string is slow or refused outright.
        if len(text) > 70:
            value = None
        else:
            try:
                value = self.constructor.construct_yaml_int(yaml.ScalarNode(_INT, text))
            except ValueError:
                return text  # "0b_" matches YAML 1.1's int pattern but has no digits
        if value is None or not -MAX_INT - 1 <= value <= MAX_INT:
            problem: str | None = (
                f"number {clip(text)} is out of range: numbers must fit in 64 bits"
            )
        else:
            problem = _yaml11_reading(text, value)
        if problem is not None:
            self.source.error(mark, path, problem, always=True)
            self.source.quiet.append(path)
            return _INVALID
        return value

    def _yaml_error(self, error: yaml.YAMLError) -> None:
        if isinstance(error, yaml.MarkedYAMLError):
            mark = error.problem_mark or error.context_mark
            problem = error.problem or error.context or "the text is not valid YAML"
            message = f"invalid YAML: {problem}"
            if error.context and error.problem and error.context_mark is not None:
                message += f" ({error.context} on line {error.context_mark.line + 1})"
            hint = None
            if "\\t" in problem:
                hint = "indent with spaces: YAML does not allow tabs for indentation"
            where = _mark(mark) if mark is not None else (1, 1)
            self.source.error(where, (), message, hint, always=True)
        elif isinstance(error, yaml.reader.ReaderError):
            char = chr(error.character) if isinstance(error.character, int) else "?"
            before = BREAK.split(self.source.text[: error.position])
            self.source.error(
                (len(before), len(before[-1]) + 1),
                (),
                f"the file holds a character YAML does not allow: {char!r} (U+{ord(char):04X})",
                "remove it: YAML text may not contain control characters",
                always=True,
            )
        else:
            self.source.error((1, 1), (), f"invalid YAML: {error}", always=True)


def _mark(mark: Any) -> Mark:
    return (mark.line + 1, mark.column + 1)


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag
