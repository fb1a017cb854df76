"""The quantum sweep (``refsim run FILE --quantum A..B``): one controlled run per
round-robin time slice from A to B micro-steps, each scheduled by
:class:`~refsim.scheduling.QuantumChooser`, as plain results that
:func:`refsim.render.quantum.print_sweep` (a terminal) and
:func:`refsim.render.json.sweep_json` show.
"""

from __future__ import annotations

from refsim.budget import Meter
from refsim.engine import DEFAULT_MAX_STEPS, run
from refsim.model import Runtime, Scenario
from refsim.scheduling import QuantumChooser
from refsim.trace import RunResult

__all__ = ["sweep"]


def sweep(
    scenario: Scenario, quanta: range, *, runtime: Runtime, seed: int | None = None,
    max_steps: int = DEFAULT_MAX_STEPS, meter: Meter | None = None,
) -> tuple[tuple[int, RunResult], ...]:  # fmt: skip
    """Each quantum of ``quanta`` with its run (no trace kept), in order; with ``seed``,
    each turn of each run is 1 to the quantum micro-steps at random. A run a budget cut
    short is there, unfinished (``max_steps``, the ``meter``'s time and memory)."""
    return tuple(
        (q, run(scenario, runtime=runtime, chooser=QuantumChooser(q, seed=seed),
                keep_trace=False, max_steps=max_steps, meter=meter))
        for q in quanta
    )  # fmt: skip
