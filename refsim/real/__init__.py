"""The real-machine experiments of ``refsim real``: what the model predicts, measured on
the machine at hand, with refsim's own figure beside each measurement.

* :mod:`refsim.real.counter`: threads doing ``counter += 1`` (and ``+= f()``, and under a
  lock) on the running interpreter;
* :mod:`refsim.real.hardware`: ``Py_INCREF``'s race on this CPU, through a C shim built
  with cffi (:mod:`refsim.real.shim`);
* :mod:`refsim.real.gil`: CPU-bound and sleeping threads, processes and the convoy,
  against the timed model with this machine's core count.

Each has ``run(settings, progress=...) -> Report`` and ``steps(settings)`` (how often it
calls ``progress``), and ``DEFAULT`` and ``QUICK`` settings. Everything is deterministic
except the measurements themselves. This package sits in the adapters layer: it drives
the explorer and the timed model, and nothing below it imports it.
"""

from refsim.real.shim import ShimUnavailable
from refsim.real.values import Interpreter, Report, Row, Spread

__all__ = ["Interpreter", "Report", "Row", "ShimUnavailable", "Spread"]
