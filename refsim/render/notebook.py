"""refsim's values in Jupyter: the HTML a notebook shows for a run, an exploration and a
story (their ``_repr_html_`` methods call these, so that the values themselves hold no
HTML).

A run shows its header, its trace table with each anomaly's sentence under its step, and
its final state; an exploration its outcome table with each outcome's witness; a story
what ``refsim FILE`` tells, in the sections of a page (``refsim html``) without the page's
step-through and game, which need its script. Every string is escaped, as on the page.
"""

from __future__ import annotations

from refsim.render.html import escaped, outcomes_table, story_sections, trace_table
from refsim.render.text import count_cell, plural
from refsim.story import Story
from refsim.trace import Exploration, RunResult

__all__ = ["exploration_html", "run_html", "story_html"]

_STYLE = (
    "<style>.refsim .num{text-align:right}.refsim tr.anomaly td{color:#b3261e;"
    "text-align:left}.refsim progress{width:8em}.refsim .note{color:#5c646c}"
    ".refsim .hidden{display:none}</style>"
)
"""A little style of its own: a notebook's tables are styled already."""


def _box(body: str) -> str:
    return f'<div class="refsim">{_STYLE}{body}</div>'


def run_html(result: RunResult) -> str:
    """A run: what ran, its trace with each anomaly under its step, its final state."""
    head = (
        f"<p><strong>{escaped(result.scenario)}</strong> · runtime {escaped(result.runtime.value)}"
        f" · {plural(result.steps, 'step')}, {plural(result.preemptions, 'preemption')} · "
        f"schedule <code>{escaped(str(result.schedule))}</code></p>"
    )
    trace = "" if result.trace is None else trace_table(None, result)
    final = ", ".join(
        f"{name} freed" if value == "freed" else f"{name} = {value}" for name, value in result.final
    )
    ended = [a for a in result.anomalies if a.step is None]
    end = "".join(
        f'<p class="note"><strong>! {escaped(a.kind.value)}:</strong> {escaped(a.message)}</p>'
        for a in ended
    )
    found = ", ".join(k.value for k in result.outcome.anomalies) or "no anomaly"
    tail = f"<p>final state: {escaped(final or '(nothing)')}; {escaped(found)}</p>"
    return _box(head + trace + end + tail)


def exploration_html(exploration: Exploration) -> str:
    """An outcome table: each outcome, how many interleavings reach it, its share, and a
    witness with the fewest preemptions."""
    if exploration.exhaustive:
        counted = f"exact: every one of {count_cell(exploration.interleavings)} interleavings"
    else:
        counted = f"sampled: {count_cell(exploration.interleavings)} runs of the fair scheduler"
    head = (
        f"<p><strong>{escaped(exploration.scenario)}</strong> · runtime "
        f"{escaped(exploration.runtime.value)} · {escaped(counted)}</p>"
    )
    return _box(head + outcomes_table(exploration, witnesses=True))


def story_html(story: Story) -> str:
    """The story of ``refsim FILE``, section by section."""
    body = "".join(
        f"<h3>{number}. {escaped(title)}</h3>{content}"
        for number, (_, title, content) in enumerate(story_sections(story), 1)
    )
    return _box(body)
