"""refsim: threads racing on CPython reference counts, simulated, and why the GIL exists.

The public API is small: load a scenario, run it (or explore every interleaving, or
search for a failing one), read the result.

>>> import refsim
>>> scenario = refsim.load_file("scenarios/leak.yaml")          # doctest: +SKIP
>>> result = refsim.run(scenario, schedule=refsim.Schedule.parse("T1 T2*3 T1*2"))  # doctest: +SKIP
>>> [a.kind.value for a in result.anomalies]                     # doctest: +SKIP
['lost-update', 'leak']
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from refsim.engine import run
    from refsim.errors import RefsimError, ScenarioError, ScheduleError
    from refsim.explore import Reachability, StateBudgetExceeded, explore, reachable
    from refsim.loader import Limits, load_file, load_text
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
    "run": "engine",
    "RefsimError": "errors",
    "ScenarioError": "errors",
    "ScheduleError": "errors",
    "Reachability": "explore",
    "StateBudgetExceeded": "explore",
    "explore": "explore",
    "reachable": "explore",
    "Limits": "loader",
    "load_file": "loader",
    "load_text": "loader",
    "AnomalyKind": "model",
    "Op": "model",
    "OpKind": "model",
    "Runtime": "model",
    "Scenario": "model",
    "Schedule": "model",
    "ThreadSpec": "model",
    "Chooser": "scheduling",
    "NonPreemptiveChooser": "scheduling",
    "QuantumChooser": "scheduling",
    "RandomChooser": "scheduling",
    "ReplayChooser": "scheduling",
    "SearchReport": "search",
    "search": "search",
    "search_report": "search",
    "Anomaly": "trace",
    "Exploration": "trace",
    "Outcome": "trace",
    "OutcomeStats": "trace",
    "RunResult": "trace",
    "TraceEvent": "trace",
}
"""Where each public name lives. They are imported on first use (PEP 562), so that a
command imports only what it needs: ``refsim explore`` never loads Hypothesis or SimPy."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'refsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"refsim.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Chooser",
    "Exploration",
    "Limits",
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
