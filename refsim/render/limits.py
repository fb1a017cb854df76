"""How much of a long run the terminal shows: the trace table's rows, the anomalies
listed one by one, the schedule's runs. Numbers only, with nothing of the terminal's, so
that a command's help (``refsim run --help``) can name them without importing rich.
"""

from __future__ import annotations

__all__ = ["ANOMALY_ROWS", "REPLAY_RUNS", "RUN_ROWS", "TRACE_ROWS"]

RUN_ROWS = 1_000
"""A controlled run's trace table shows its first this many micro-steps unless asked
(``--trace``): a longer table is more than anyone reads on a terminal."""

ANOMALY_ROWS = 100
"""The most anomalies a run lists one by one; the rest are counted by kind."""

REPLAY_RUNS = 200
"""A controlled run's schedule of more runs than this is summarised, and its replay
command not printed: a command line of thousands of runs helps nobody."""

TRACE_ROWS = 200
"""A timed run prints its trace table only up to this many rows unless asked (``--trace``)."""
