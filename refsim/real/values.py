"""What a real-machine experiment gives back: the interpreter it ran on, and rows of a
measurement beside refsim's prediction. Plain values: experiments build them, the command
line renders them (a table, or the JSON document of docs/real.md)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["Interpreter", "Progress", "Report", "Row", "Spread", "percent"]

Progress = Callable[[str], None]
"""Called once after each measurement with what was just measured (a progress bar's
step); an experiment's ``steps()`` says how many calls to expect."""


@dataclass(frozen=True, slots=True)
class Interpreter:
    """The running Python and the machine under it, as an experiment found them."""

    implementation: str
    """``CPython``, ``PyPy``, ..."""
    version: str
    """``3.11.7``."""
    free_threaded: bool
    """Built without the GIL (``sysconfig.get_config_var("Py_GIL_DISABLED")``)."""
    gil_enabled: bool
    """The GIL is on now: ``sys._is_gil_enabled()`` where it exists (3.13+: a free-threaded
    build turns it back on for an extension that has not declared itself safe, or with
    ``PYTHON_GIL=1``), else True."""
    switch_interval: float
    """``sys.getswitchinterval()``, seconds."""
    platform: str
    """``sys.platform``."""
    machine: str
    """The CPU architecture, ``platform.machine()`` (``x86_64``, ``arm64``)."""
    cores: int
    """CPUs this process may run on."""
    load: float | None
    """The 1-minute load average (``os.getloadavg``), where the system has one."""

    def __str__(self) -> str:
        build = " free-threaded" if self.free_threaded else ""
        gil = "GIL enabled" if self.gil_enabled else "GIL disabled"
        interval = f"{self.switch_interval * 1000:g} ms"
        load = "" if self.load is None else f", load average {self.load:.2f}"
        cores = f"{self.cores} core{'s' if self.cores != 1 else ''}"
        return (
            f"{self.implementation} {self.version}{build} ({gil}, switch interval "
            f"{interval}) on {self.platform} {self.machine}, {cores}{load}"
        )

    def json(self) -> dict[str, Any]:
        return {
            "implementation": self.implementation,
            "version": self.version,
            "free_threaded": self.free_threaded,
            "gil_enabled": self.gil_enabled,
            "switch_interval": self.switch_interval,
            "platform": self.platform,
            "machine": self.machine,
            "cores": self.cores,
            "load": self.load,
        }


@dataclass(frozen=True, slots=True)
class Spread:
    """One figure measured ``len(runs)`` times: the median and the range."""

    runs: tuple[float, ...]

    def __post_init__(self) -> None:
        assert self.runs, "a spread needs at least one run"

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def low(self) -> float:
        return min(self.runs)

    @property
    def high(self) -> float:
        return max(self.runs)


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure beside refsim's figure for the same thing.

    ``name`` is the row's key in ``--json`` (``plain lost``, ``atomic contended``);
    ``label`` is what the table shows. ``measured`` is ``None`` when the figure was not
    measured or would mean nothing (``note`` says why)."""

    name: str
    label: str
    measured: Spread | None
    unit: str
    """The measured figure's unit: ``lost``, ``ns``, ``ms``, ``×``, ``req/s``."""
    model: float | None
    """refsim's figure: a share of interleavings (0 to 1) for a ``lost`` row, else a
    figure in ``unit``; ``None`` where the model has no figure for it."""
    model_text: str
    """refsim's figure in words, as the table shows it."""
    of: int | None = None
    """For a ``lost`` row: the updates attempted (threads × increments)."""
    note: str = ""

    def json(self) -> dict[str, Any]:
        spread = self.measured
        return {
            "name": self.name,
            "label": self.label,
            "measured": None if spread is None else _plain(spread.median),
            "low": None if spread is None else _plain(spread.low),
            "high": None if spread is None else _plain(spread.high),
            "runs": [] if spread is None else [_plain(v) for v in spread.runs],
            "unit": self.unit,
            "of": self.of,
            "model": None if self.model is None else _plain(self.model),
            "model_unit": "share of interleavings" if self.unit == "lost" else self.unit,
            "model_text": self.model_text,
            "note": self.note,
        }


def _plain(value: float) -> float | int:
    """A whole number as an int, else rounded to 6 significant digits (JSON for people)."""
    if float(value).is_integer():
        return int(value)
    return float(f"{value:.6g}")


@dataclass(frozen=True, slots=True)
class Report:
    """What one experiment found: the interpreter, the settings it ran with, its rows and
    the sentences that explain them."""

    experiment: str
    interpreter: Interpreter
    settings: tuple[tuple[str, float], ...]
    rows: tuple[Row, ...]
    findings: tuple[str, ...]
    """Sentences for the reader: what the rows show, and why."""
    contradictions: tuple[str, ...] = ()
    """Sentences naming a measurement the model says cannot happen (exit status 1)."""

    def row(self, name: str) -> Row:
        """The row called ``name``; ``KeyError`` without one."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "interpreter": self.interpreter.json(),
            "settings": {name: _plain(value) for name, value in self.settings},
            "rows": [row.json() for row in self.rows],
            "findings": list(self.findings),
            "contradictions": list(self.contradictions),
        }


def percent(share: Fraction | float) -> str:
    """A share for people: ``0%``, ``100%``, ``90%``, ``99.99%``; never rounded to 0 or
    100 unless it is exactly that."""
    if share == 0 or share == 1:
        return f"{int(share) * 100}%"
    value = float(share) * 100
    for digits in range(0, 8):
        text = f"{value:.{digits}f}"
        if float(text) not in (0.0, 100.0):
            return f"{text}%"
    return "more than 99.999999%" if value > 50 else "less than 0.000001%"
