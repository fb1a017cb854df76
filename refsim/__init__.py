"""refsim: threads racing on CPython reference counts, simulated, and why the GIL exists.

The public API is small: load a scenario, run it, read the result.

>>> import refsim
>>> scenario = refsim.load_file("scenarios/leak.yaml")          # doctest: +SKIP
>>> result = refsim.run(scenario, schedule=refsim.Schedule.parse("T1 T2*3 T1*2"))  # doctest: +SKIP
>>> [a.kind.value for a in result.anomalies]                     # doctest: +SKIP
['lost-update', 'leak']
"""

__version__ = "0.1.0"

from refsim.engine import run
from refsim.errors import RefsimError, ScenarioError, ScheduleError
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
from refsim.scheduling import Chooser, NonPreemptiveChooser, RandomChooser, ReplayChooser
from refsim.search import SearchReport, search, search_report
from refsim.trace import Anomaly, Outcome, RunResult, TraceEvent

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Chooser",
    "Limits",
    "NonPreemptiveChooser",
    "Op",
    "OpKind",
    "Outcome",
    "RandomChooser",
    "RefsimError",
    "ReplayChooser",
    "RunResult",
    "Runtime",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "ScheduleError",
    "SearchReport",
    "ThreadSpec",
    "TraceEvent",
    "__version__",
    "load_file",
    "load_text",
    "run",
    "search",
    "search_report",
]
