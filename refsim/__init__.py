"""refsim: threads racing on CPython reference counts, simulated, and why the GIL exists.

The public API is small: load a scenario, run it (or explore every interleaving, or
search for a failing one), read the result.

>>> import refsim
>>> scenario = refsim.load_file("leak")           # a bundled name, or a path # doctest: +SKIP
>>> result = refsim.run(scenario, schedule=refsim.Schedule.parse("T1 T2*3 T1*2"))  # doctest: +SKIP
>>> [a.kind.value for a in result.anomalies]                     # doctest: +SKIP
['lost-update', 'leak']

Each public name is imported on first use (PEP 562, as :mod:`refsim.plot` does): ``import
refsim`` costs almost nothing, and a command pays only for what it uses (``refsim
--version`` loads no scenario machinery; ``refsim explore`` never imports SimPy or
Hypothesis). ``refsim.explore`` and ``refsim.search`` are the functions, as they always
were, even once their modules of the same name are imported (see :class:`_Package`).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from refsim.lazy import exported

__version__ = "0.1.0"

if TYPE_CHECKING:
    from refsim.budget import Budget, BudgetExceeded, Meter
    from refsim.bundled import load_file
    from refsim.engine import run
    from refsim.errors import RefsimError, ScenarioError, ScheduleError
    from refsim.explore import (
        ExplorationStopped,
        Reachability,
        StateBudgetExceeded,
        explore,
        reachable,
    )
    from refsim.loader import Limits, load_text
    from refsim.model import (
        AnomalyKind,
        Op,
        OpKind,
        Runtime,
        Scenario,
        Schedule,
        ThreadSpec,
    )
    from refsim.scheduling import (
        Chooser,
        NonPreemptiveChooser,
        QuantumChooser,
        RandomChooser,
        ReplayChooser,
    )
    from refsim.search import SearchReport, search, search_report
    from refsim.trace import Anomaly, Exploration, Outcome, OutcomeStats, RunResult, TraceEvent

_HOMES = {
    **dict.fromkeys(("Budget", "BudgetExceeded", "Meter"), "budget"),
    "load_file": "bundled",
    "run": "engine",
    **dict.fromkeys(("RefsimError", "ScenarioError", "ScheduleError"), "errors"),
    **dict.fromkeys(
        ("ExplorationStopped", "Reachability", "StateBudgetExceeded", "explore", "reachable"),
        "explore",
    ),
    **dict.fromkeys(("Limits", "load_text"), "loader"),
    **dict.fromkeys(
        ("AnomalyKind", "Op", "OpKind", "Runtime", "Scenario", "Schedule", "ThreadSpec"), "model"
    ),
    **dict.fromkeys(
        (
            "Chooser",
            "NonPreemptiveChooser",
            "QuantumChooser",
            "RandomChooser",
            "ReplayChooser",
        ),
        "scheduling",
    ),
    **dict.fromkeys(("SearchReport", "search", "search_report"), "search"),
    **dict.fromkeys(
        ("Anomaly", "Exploration", "Outcome", "OutcomeStats", "RunResult", "TraceEvent"), "trace"
    ),
}
"""Where each public name lives (``refsim.<home>``), imported on first use."""


def __getattr__(name: str) -> Any:
    return exported(__name__, _HOMES, name)


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(types.ModuleType):
    """The ``refsim`` module, keeping its public functions over same-named submodules.

    Importing a submodule sets it as an attribute of its package: importing
    ``refsim.explore`` (the module) would make ``refsim.explore`` that module, not the
    function :func:`refsim.explore.explore`. When the package imported everything at once,
    its own ``from refsim.explore import explore`` came after and won; with names imported
    on first use, this class keeps the public name instead (the module stays in
    ``sys.modules``, where ``import refsim.explore`` finds it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOMES.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Budget",
    "BudgetExceeded",
    "Chooser",
    "Exploration",
    "ExplorationStopped",
    "Limits",
    "Meter",
    "NonPreemptiveChooser",
    "Op",
    "OpKind",
    "Outcome",
    "OutcomeStats",
    "QuantumChooser",
    "RandomChooser",
    "Reachability",
    "RefsimError",
    "ReplayChooser",
    "RunResult",
    "Runtime",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "ScheduleError",
    "SearchReport",
    "StateBudgetExceeded",
    "ThreadSpec",
    "TraceEvent",
    "__version__",
    "explore",
    "load_file",
    "load_text",
    "reachable",
    "run",
    "search",
    "search_report",
]
