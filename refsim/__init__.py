"""refsim: threads racing on CPython reference counts, simulated, and why the GIL exists.

The public API is small: load a scenario, run it (or explore every interleaving, or
search for a failing one), read the result.

>>> import refsim
>>> scenario = refsim.load_file("leak")           # a bundled name, or a path # doctest: +SKIP
>>> result = refsim.run(scenario, schedule=refsim.Schedule.parse("T1 T2*3 T1*2"))  # doctest: +SKIP
>>> [a.kind.value for a in result.anomalies]                     # doctest: +SKIP
['lost-update', 'leak']
"""

__version__ = "0.1.0"

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
