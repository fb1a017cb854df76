"""The refsim command lines that output offers its reader: the one that replays a run, a
schedule or a witness exactly (``refsim run leak --schedule "T1 T2*3 T1*2"``).

Plain text, no rich: the JSON documents carry these lines too.
"""

from __future__ import annotations

import shlex

from refsim.model import Runtime, Scenario
from refsim.trace import RunResult

__all__ = ["replay_command", "replay_line", "witness_replay"]


def replay_command(
    file: str, result: RunResult, scenario: Scenario, *, program: str = "refsim"
) -> str:
    """The command that replays ``result`` exactly."""
    return replay_line(file, str(result.schedule), result.runtime, scenario, program=program)


def replay_line(
    file: str,
    schedule: str,
    runtime: Runtime,
    scenario: Scenario,
    *,
    always: bool = False,
    program: str = "refsim",
) -> str:
    """``refsim run FILE --schedule "..."``, with ``--runtime`` when it is not the file's
    (or ``always``) and ``--process`` when ``scenario`` is one process of the file."""
    # Schedules are names, stars, digits and spaces: double quotes read best and work in
    # every shell; the path gets whatever quoting it needs.
    command = f'{program} run {shlex.quote(file)} --schedule "{schedule}"'
    if scenario.part_of is not None:
        command += f" --process {scenario.part_of}"
    if always or runtime is not scenario.runtime:
        command += f" --runtime {runtime.value}"
    return command


def witness_replay(
    file: str, scenario: Scenario, witness: str, runtime: Runtime, process: str | None
) -> str:
    """The command that replays a witness of ``process`` (or of the whole file), always
    naming the runtime (a check lists several)."""
    part = scenario if process is None else scenario.process(process)
    return replay_line(file, witness, runtime, part, always=True)
