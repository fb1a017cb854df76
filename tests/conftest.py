"""Shared test configuration. Keep this file tiny and generic: helpers specific to one
module belong in that module's test file, Hypothesis strategies in ``strategies.py``."""

from hypothesis import settings

# Runs are simulated, not timed: a slow example is never a failure, and the first run of
# a session pays for imports.
settings.register_profile("refsim", deadline=None)
settings.load_profile("refsim")

# CI runs the same examples every time; locally Hypothesis explores new ones each run.
if __import__("os").environ.get("CI"):
    settings.register_profile("refsim-ci", deadline=None, derandomize=True)
    settings.load_profile("refsim-ci")


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/ from the current output (review the diff before committing)",
    )
