"""The running interpreter and how busy the machine under it is."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
import time
from pathlib import Path

from refsim.real.values import Interpreter

__all__ = ["cores", "free_cores", "this_interpreter"]


def cores() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return None


def this_interpreter() -> Interpreter:
    """The running interpreter, now."""
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    gil_enabled = bool(is_enabled()) if is_enabled is not None else not free_threaded
    return Interpreter(
        implementation=platform.python_implementation(),
        version=platform.python_version(),
        free_threaded=free_threaded,
        gil_enabled=gil_enabled,
        switch_interval=round(sys.getswitchinterval(), 9),  # CPython keeps whole µs
        platform=sys.platform,
        machine=platform.machine() or "unknown",
        cores=cores(),
        load=_load(),
    )


_STAT = Path("/proc/stat")


def _idle_ticks() -> tuple[int, int] | None:
    """(idle, total) jiffies of all CPUs since boot, from /proc/stat (Linux only)."""
    try:
        first = _STAT.read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    ticks = [int(v) for v in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return idle, sum(ticks)


def free_cores(window: float = 0.3) -> float:
    """How many cores nobody used during the last ``window`` seconds (measured from
    /proc/stat where it exists); elsewhere the cores less the 1-minute load average.

    The load average trails by a minute (it still counts a run that just ended), so where
    the system says how idle each CPU was just now, that is what this reads."""
    total_cores = os.cpu_count() or 1
    before = _idle_ticks()
    if before is not None:
        time.sleep(window)
        after = _idle_ticks()
        if after is not None and after[1] > before[1]:
            idle = (after[0] - before[0]) / (after[1] - before[1])
            return min(cores(), round(idle * total_cores, 1))
    load = _load()
    return max(0.0, cores() - (load or 0.0))
