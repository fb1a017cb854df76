"""The scenario file format: its vocabulary, its shape as pydantic models, and its JSON Schema.

This module says what a well-formed file looks like; ``refsim.loader`` reads YAML, runs
these models over the data, turns their errors into located diagnostics and checks what
a shape cannot express (declared names, lock discipline, limits). The models are never
used to build values: the loader builds ``refsim.model`` values from the checked data.

Scalars with a little syntax of their own (names, durations, ops) are read here too, next
to the regular expressions the JSON Schema gives editors for them; a property test holds
the two to agreement, so an editor and refsim accept the same ops.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StringConstraints,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from refsim.model import MicroKind, Op, OpKind

__all__ = [
    "ANOMALY_KINDS",
    "DURATION_PATTERN",
    "MAX_INT",
    "MICRO_KINDS",
    "NAME_PATTERN",
    "OP_FORMS",
    "OP_SUBJECTS",
    "RUNTIMES",
    "RUNTIME_ALIASES",
    "TAGS",
    "ObjectEntry",
    "OpSyntaxError",
    "RepeatBlock",
    "ScenarioFile",
    "ThreadEntry",
    "TimingEntry",
    "closest",
    "closest_runtime",
    "json_schema",
    "parse_duration",
    "parse_op",
    "show_value",
]

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
"""Names of objects, variables, locks and threads: identifiers."""

MAX_INT = 2**63 - 1
"""The largest number a file may hold (refcounts are ``Py_ssize_t`` in CPython)."""

RUNTIMES = ("unsafe", "gil", "atomic", "free-threaded", "pypy", "jython")

RUNTIME_ALIASES = {
    "nogil": "free-threaded",
    "no-gil": "free-threaded",
    "no_gil": "free-threaded",
    "ft": "free-threaded",
    "freethreaded": "free-threaded",
    "free_threaded": "free-threaded",
    "free-threading": "free-threaded",
    "3.13t": "free-threaded",
    "3.14t": "free-threaded",
    "python3.13t": "free-threaded",
    "python3.14t": "free-threaded",
    "pep703": "free-threaded",
    "cpython": "gil",
    "ironpython": "jython",
}
"""Names people use for a runtime refsim calls otherwise: what "did you mean" suggests."""


def closest_runtime(name: str) -> str | None:
    """The runtime ``name`` most likely means (``nogil`` -> ``free-threaded``), if any."""
    alias = RUNTIME_ALIASES.get(name.strip().lower())
    if alias is not None:
        return alias
    close = closest(name, (*RUNTIMES, *RUNTIME_ALIASES))
    return RUNTIME_ALIASES.get(close, close) if close is not None else None


ANOMALY_KINDS = (
    "lost-update",
    "premature-free",
    "use-after-free",
    "double-free",
    "leak",
    "deadlock",
)
MICRO_KINDS = tuple(kind.value for kind in MicroKind)

# Whitespace inside ops is spaces and tabs only: a newline inside an op is a mistake.
_WS = "[ \\t]"
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
DURATION_PATTERN = f"[0-9]+(?:(?:\\.[0-9]+)?{_WS}*(?:ns|us|µs|μs|ms|s))?"
"""A duration written as text: a number and a unit, or whole nanoseconds without one.

A decimal must also come to a whole number of nanoseconds, which no pattern can say."""


def _named(verb: str, letter: str, meaning: str) -> tuple[str, str, str]:
    """The form of an op written as a verb and a name (``acquire L``)."""
    return (f"{verb} {letter}", f"{verb}{_WS}+{NAME_PATTERN}", meaning)


OP_FORMS: tuple[tuple[str, str, str], ...] = (
    _named("incref", "X", "add a reference to object X"),
    _named("decref", "X", "drop a reference to X; frees X at refcount 0"),
    _named("use", "X", "dereference object X (read it)"),
    ("V += n", f"{NAME_PATTERN}{_WS}*\\+={_WS}*[0-9]+", "add n to variable V (three bytecodes)"),
    ("V -= n", f"{NAME_PATTERN}{_WS}*-={_WS}*[0-9]+", "subtract n from variable V"),
    ("compute n", f"compute{_WS}+0*[1-9][0-9]*", "n bytecodes of thread-local work"),
    ("io D", f"io{_WS}+{DURATION_PATTERN}", "a blocking call lasting D (releases the GIL)"),
    _named(
        "acquire",
        "L",
        "take lock L (waits while another holds it), or semaphore S (waits while it is 0)",
    ),
    _named("release", "L", "release lock L, which this thread holds, or add 1 to semaphore S"),
    _named("set", "E", "set event E (wakes its waiters)"),
    _named("clear", "E", "clear event E"),
    _named("wait", "E", "wait until event E is set; or, on condition C, wait to be notified"),
    _named("put", "Q", "put an item in queue Q (waits while Q is full)"),
    _named("get", "Q", "take an item from queue Q (waits while Q is empty)"),
    _named("join", "T", "wait until thread T has finished"),
    _named("notify", "C", "wake the first thread waiting on condition C"),
    _named("notify_all", "C", "wake every thread waiting on condition C"),
)
"""Each op: how it is written, the regular expression of its text, and what it does."""

_DURATION_RE = re.compile(
    f"{_WS}*([+-]?)([0-9]+)(?:(?:\\.([0-9]+))?{_WS}*(ns|us|µs|μs|ms|s))?{_WS}*"
)


def show_value(value: object, limit: int = 40) -> str:
    """``value`` as a message shows it: YAML spellings for scalars, cut to ``limit`` chars."""
    text = _render(value, limit + 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: object, budget: int) -> str:
    # ``budget`` stops big lists and mappings from being rendered in full only to be cut.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        return repr(value[:budget])
    if isinstance(value, list):
        return _render_items((_render(v, budget) for v in value), "[", "]", budget)
    if isinstance(value, dict):
        items = (f"{k}: {_render(v, budget)}" for k, v in value.items())
        return _render_items(items, "{", "}", budget)
    return "an alias"


def _render_items(items: Any, start: str, end: str, budget: int) -> str:
    out = start
    for i, item in enumerate(items):
        out += (", " if i else "") + item
        if len(out) > budget:
            break
    return out + end


def parse_duration(value: object) -> int:
    """Nanoseconds from an int or from text like ``30ns``, ``2us``, ``1.5ms``, ``1s``.

    Raises ``ValueError`` with a message that shows ``value`` and says what was expected.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            "expected a duration like 5ms or an integer number of nanoseconds, "
            f"got {show_value(value)}"
        )
    ns = value if isinstance(value, int) else _parse_duration_text(value)
    if ns < 0:
        raise ValueError(f"expected a non-negative duration, got {show_value(value)}")
    if ns > MAX_INT:
        raise ValueError(
            f"duration {show_value(value)} is too long: the limit is 2**63-1 ns (292 years)"
        )
    return ns


def _parse_duration_text(text: str) -> int:
    m = _DURATION_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"expected a duration like 30ns, 2us, 5ms or 1s, got {show_value(text)}")
    sign, whole, frac, unit = m.groups()
    scale = _UNITS[unit or "ns"]
    frac = (frac or "").rstrip("0")
    whole = whole.lstrip("0") or "0"
    # Checking lengths first keeps int() away from huge digit strings: anything longer is
    # out of range anyway, or has more decimals than any unit has nanoseconds.
    if len(whole) > 20:
        ns = MAX_INT + 1
    else:
        if len(frac) > 9 or (int(frac or "0") * scale) % 10 ** len(frac):
            raise ValueError(f"duration {show_value(text)} is not a whole number of nanoseconds")
        ns = int(whole) * scale + int(frac or "0") * scale // 10 ** len(frac)
    return -ns if sign == "-" else ns


# --- ops ----------------------------------------------------------------------------------

OP_SUBJECTS = {kind: kind.subject_kinds for kind in OpKind if kind.subject_kinds}
"""What each op's verb may name: ``("object",)`` for ``incref``, ``("lock", "semaphore")``
for ``acquire`` (``compute`` and ``io`` name nothing)."""

_NAME = re.compile(NAME_PATTERN)
_ARITH = re.compile(f"{_WS}*({NAME_PATTERN}){_WS}*([+-])={_WS}*(.*?){_WS}*")
_WORDS = re.compile(f"{_WS}*([^ \\t]+)(?:{_WS}+(.*?))?{_WS}*")
_ASSIGN = re.compile(f"{_WS}*({NAME_PATTERN}){_WS}*={_WS}*\\1{_WS}*([+-]){_WS}*([0-9]+){_WS}*")
_STEP = re.compile(f"{_WS}*({NAME_PATTERN}){_WS}*(\\+\\+|--){_WS}*")
_VERBS = (
    "incref", "decref", "use", "compute", "io", "acquire", "release", "set", "clear", "wait",
    "put", "get", "join", "notify", "notify_all",
)  # fmt: skip
_OP_LIST = ", ".join(form for form, _, _ in OP_FORMS)


class OpSyntaxError(ValueError):
    """An op's text that cannot be read: ``message`` shows it, ``hint`` may suggest a fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_op(text: str) -> Op:
    """Read an op as written in a thread (``"decref obj"``, ``"counter += 1"``, ``"io 5ms"``).

    Only the text is checked here; whether the names are declared is the loader's business.
    Raises ``OpSyntaxError``.
    """
    m = _ARITH.fullmatch(text)
    if m is not None:
        name, sign, amount = m.groups()
        n = _small_int(amount)
        if n is None:
            hint = None
            if sign == "+" and re.fullmatch("-[0-9]+", amount):
                hint = f"did you mean '{name} -= {amount[1:]}'?"
            message = f"expected a non-negative integer after {sign}=, got {amount!r}"
            raise OpSyntaxError(_out_of_range(amount) or message, hint)
        return Op(OpKind.ADD if sign == "+" else OpKind.SUB, name, n)
    m = _WORDS.fullmatch(text)
    if m is None:
        raise OpSyntaxError(f"expected an op like 'incref obj', got {show_value(text)}", _ops())
    verb, arg = m.group(1), m.group(2) or ""
    if verb == "compute":
        n = _small_int(arg)
        if n is None or n < 1:
            message = f"compute takes a positive number of bytecodes, got {arg!r}"
            raise OpSyntaxError(_out_of_range(arg) or message)
        return Op(OpKind.COMPUTE, None, n)
    if verb == "io":
        try:
            return Op(OpKind.IO, None, parse_duration(arg))
        except ValueError as e:
            raise OpSyntaxError(f"io takes a duration: {e}") from None
    if verb not in _VERBS:
        raise OpSyntaxError(f"unknown op {show_value(text)}", _unknown_op_hint(text, verb, arg))
    kind = OpKind(verb)
    if not _NAME.fullmatch(arg):
        whats = OP_SUBJECTS[kind]
        got = f", got {arg!r}" if arg else ""
        example = f"{verb} {_EXAMPLE_NAMES[whats[0]]}"
        names = " or ".join(whats)
        article = "an" if names[0] in "aeiou" else "a"
        raise OpSyntaxError(f"{verb} takes {article} {names} name{got}", f"e.g. {example!r}")
    return Op(kind, arg)


_EXAMPLE_NAMES = {
    "object": "obj",
    "lock": "L",
    "event": "E",
    "queue": "Q",
    "thread": "T1",
    "condition": "C",
}


def _unknown_op_hint(text: str, verb: str, arg: str) -> str:
    """A "did you mean" for an op that cannot be read, or the list of ops."""
    m = _ASSIGN.fullmatch(text)
    if m is not None:  # counter = counter + 1
        return f"did you mean '{m.group(1)} {m.group(2)}= {m.group(3)}'?"
    m = _STEP.fullmatch(text)
    if m is not None:  # counter++
        return f"did you mean '{m.group(1)} {m.group(2)[0]}= 1'?"
    close = closest(verb, _VERBS) if "=" not in text else None
    return f"did you mean {f'{close} {arg}'.strip()!r}?" if close else _ops()


def _ops() -> str:
    return f"an op is one of: {_OP_LIST}"


def _small_int(text: str) -> int | None:
    """A decimal that fits in 64 bits, or ``None``."""
    if not re.fullmatch("[0-9]+", text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > 19:
        return None  # too long for int() to be worth calling
    value = int(digits)
    return value if value <= MAX_INT else None


def _out_of_range(digits: str) -> str | None:
    """The message for a decimal too big for 64 bits, or ``None`` if it is something else."""
    if re.fullmatch("[0-9]+", digits) and _small_int(digits) is None:
        return f"number {show_value(digits)} is out of range: numbers must fit in 64 bits"
    return None


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word`` (ignoring case), if one is close enough."""
    if len(word) > 64:
        return None  # difflib is quadratic in length; nobody misspells a 64-char name
    return _closest(word.lower(), tuple(choices))


@functools.lru_cache(maxsize=4096)
def _closest(word: str, choices: tuple[str, ...]) -> str | None:
    # Cached: a generated file can repeat one mistake hundreds of thousands of times.
    lowered = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(word, list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _duration(value: object) -> int:
    try:
        return parse_duration(value)
    except ValueError as e:
        raise PydanticCustomError("refsim", "{message}", {"message": str(e)}) from None


def _positive_duration(value: object) -> int:
    ns = _duration(value)
    if ns == 0:
        raise PydanticCustomError(
            "refsim",
            "{message}",
            {"message": f"expected a positive duration, got {show_value(value)}"},
        )
    return ns


_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "description": "nanoseconds"},
        {"type": "string", "pattern": f"^{DURATION_PATTERN}$"},
    ],
    "description": "a duration: integer nanoseconds, or text with a unit (30ns, 2us, 5ms, 1s)",
    "examples": ["30ns", "2us", "5ms", "1s", 500],
}
_OP_SCHEMA: dict[str, Any] = {
    "type": "string",
    "title": "op",
    "description": "one line of a thread's program",
    "anyOf": [
        {"pattern": f"^{_WS}*{regex}{_WS}*$", "title": form, "description": meaning}
        for form, regex, meaning in OP_FORMS
    ],
    "examples": ["incref obj", "decref obj", "counter += 1", "compute 3", "io 5ms"],
}

Duration = Annotated[int, PlainValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
PositiveDuration = Annotated[
    int,
    PlainValidator(_positive_duration),
    WithJsonSchema({**_DURATION_SCHEMA, "description": "a duration greater than zero"}),
]
Name = Annotated[str, StringConstraints(pattern=f"^{NAME_PATTERN}$")]
NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]

TAGS = ("<int>", "<object>", "<list>", "<thread>", "<op>", "<repeat>")
"""Names of the alternatives of each union below; pydantic puts them in error locations."""


def _mapping_or(tag: str, other: str) -> Any:
    """A discriminator choosing ``tag`` for mappings and ``other`` for anything else.

    A plain union would report one error per alternative; choosing by shape first gives one
    error, about the alternative the writer evidently meant.
    """
    return Discriminator(lambda value: tag if isinstance(value, dict) else other)


def _optional(description: str) -> Any:
    """A field that may be left out but not set to null (``None`` stands for "absent").

    Typed ``Any`` so a field can be ``int`` for pydantic (which then refuses null) while
    defaulting to ``None``; the loader reads ``None`` as "not in the file".
    """
    return Field(default=None, description=description)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ObjectEntry(_Strict):
    """The long form of an object: `obj: {refcount: 2, owner: T1}`."""

    model_config = ConfigDict(title="object")
    refcount: Positive = Field(
        description="initial refcount (and true refs), at least 1: an object at 0 is freed"
    )
    owner: Name = _optional(
        "the thread that created it: under free-threaded, its local (biased) count"
    )
    immortal: bool = Field(
        default=False, description="never counted, never freed (PEP 683: None, small ints)"
    )
    deferred: bool = Field(
        default=False,
        description="stack references are not counted; the collector frees it "
        "(functions, code objects, modules)",
    )


class RepeatBlock(_Strict):
    """`{repeat: n, ops: [...]}`: the ops, n times over."""

    model_config = ConfigDict(title="repeat block")
    repeat: Positive = Field(description="how many times to run the ops (at least 1)")
    ops: Annotated[list[OpItem], Field(min_length=1, description="the ops to repeat")]


OpItem = Annotated[
    Annotated[str, Tag("<op>"), WithJsonSchema(_OP_SCHEMA)]
    | Annotated[RepeatBlock, Tag("<repeat>")],
    _mapping_or("<repeat>", "<op>"),
]
OpList = Annotated[list[OpItem], Field(min_length=1)]
RepeatBlock.model_rebuild()


class ThreadEntry(_Strict):
    """The long form of a thread: `{ops: [...], count: n}`."""

    model_config = ConfigDict(title="thread")
    ops: OpList = Field(description="the thread's program, run in order")
    count: Positive = _optional("make this many copies, named NAME1..NAMEn")


ObjectValue = Annotated[
    Annotated[Positive, Tag("<int>")] | Annotated[ObjectEntry, Tag("<object>")],
    _mapping_or("<object>", "<int>"),
]
ThreadValue = Annotated[
    Annotated[OpList, Tag("<list>")] | Annotated[ThreadEntry, Tag("<thread>")],
    _mapping_or("<thread>", "<list>"),
]
RuntimeName = Literal["unsafe", "gil", "atomic", "free-threaded", "pypy", "jython"]
AnomalyName = Literal[
    "lost-update", "premature-free", "use-after-free", "double-free", "leak", "deadlock"
]
MicroName = Literal[
    "LOAD",
    "ADD",
    "SUB",
    "STORE",
    "DEALLOC",
    "RMW",
    "READ",
    "LOAD_GLOBAL",
    "BINARY_OP",
    "STORE_GLOBAL",
    "COMPUTE",
    "IO",
    "ACQUIRE",
    "RELEASE",
    "SET",
    "CLEAR",
    "WAIT",
    "PUT",
    "GET",
    "JOIN",
    "CWAIT",
    "REACQUIRE",
    "NOTIFY",
    "NOTIFY_ALL",
    "LOAD_LOCAL",
    "STORE_LOCAL",
    "ADD_SHARED",
    "DECREF_SHARED",
    "QUEUE",
    "MERGE",
    "IMMORTAL",
    "DEFERRED",
    "TAKE",
    "DROP",
]


class TimingEntry(_Strict):
    """The `timing:` section: what timed mode (`refsim run --timed`) needs."""

    model_config = ConfigDict(title="timing")
    cores: Positive = _optional("how many CPUs run threads")
    costs: dict[MicroName, Duration] = Field(
        default_factory=dict, description="duration of each micro-step kind, e.g. LOAD: 2ns"
    )
    jitter: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        default=0.0, description="random spread of each cost, as a fraction (seeded)"
    )
    switch_interval: PositiveDuration = _optional(
        "how long a GIL waiter waits before asking for a switch"
    )


_UNIQUE = Field(json_schema_extra={"uniqueItems": True})
"""For editors only: the loader reports repeats itself, saying where the first one is."""


class ScenarioFile(_Strict):
    """A refsim scenario: threads racing on CPython reference counts."""

    model_config = ConfigDict(title="refsim scenario")
    name: Annotated[str, Field(min_length=1)] = _optional(
        "short identifier; defaults to the file's stem"
    )
    description: str = _optional("what the scenario teaches; shown at the top of reports")
    runtime: RuntimeName = Field(
        default="unsafe", description="how threads run; `--runtime` overrides it"
    )
    objects: dict[Name, ObjectValue] = Field(
        default_factory=dict,
        description="refcounted objects: name -> initial refcount, or {refcount: n}",
    )
    variables: dict[Name, int] = Field(
        default_factory=dict, description="Python-level globals: name -> initial value"
    )
    locks: Annotated[list[Name], _UNIQUE] = Field(
        default_factory=list, description="threading.Lock names"
    )
    events: Annotated[list[Name], _UNIQUE] = Field(
        default_factory=list, description="threading.Event names (clear at the start)"
    )
    semaphores: dict[Name, NonNegative] = Field(
        default_factory=dict,
        description="threading.Semaphore names -> initial count (at least 0)",
    )
    queues: dict[Name, Positive] = Field(
        default_factory=dict,
        description="queue.Queue names -> maxsize (at least 1); empty at the start",
    )
    conditions: dict[Name, Name] = Field(
        default_factory=dict,
        description="threading.Condition names -> the lock (under locks:) it is over",
    )
    threads: Annotated[dict[Name, ThreadValue], Field(min_length=1)] = Field(
        description="name -> list of ops, or {ops: [...], count: n} for n copies NAME1..NAMEn"
    )
    processes: dict[Name, Annotated[list[Name], Field(min_length=1), _UNIQUE]] = Field(
        default_factory=dict,
        description="process name -> the threads it runs; each process has its own GIL and "
        "its own copies of the objects (timed mode); default: one process",
    )
    timing: TimingEntry = _optional("settings for timed mode")
    expect: dict[RuntimeName, Annotated[list[AnomalyName], _UNIQUE]] = Field(
        default_factory=dict,
        description="claims: runtime -> the anomaly kinds some interleaving reaches",
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, for editors and ``refsim schema``."""
    schema = ScenarioFile.model_json_schema()
    defs = schema.setdefault("$defs", {})
    defs["op"] = _OP_SCHEMA
    defs["duration"] = _DURATION_SCHEMA
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_tidy(schema, {"op": _OP_SCHEMA, "duration": _DURATION_SCHEMA}, top=True),
    }


def _tidy(node: Any, shared: dict[str, dict[str, Any]], *, top: bool = False) -> Any:
    """A copy of a pydantic schema made better for editors.

    Repeated op and duration schemas become references to one definition; maps whose keys
    are names reject other keys (pydantic lets them through); a ``null`` default, which
    means "absent" here, is dropped because null itself is not allowed.
    """
    if isinstance(node, list):
        return [_tidy(value, shared) for value in node]
    if not isinstance(node, dict):
        return node
    for name, sub in shared.items():
        if node == sub and not top:
            return {"$ref": f"#/$defs/{name}"}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default" and value is None:
            continue
        if key == "$defs":
            out[key] = {
                name: _tidy(sub, {k: v for k, v in shared.items() if k != name}, top=True)
                for name, sub in value.items()
            }
        else:
            out[key] = _tidy(value, shared)
    if "patternProperties" in out:
        out.setdefault("additionalProperties", False)
    return out
