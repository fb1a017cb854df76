"""``refsim html``: a :class:`~refsim.page.Page` as one self-contained HTML file.

The page tells the same :class:`~refsim.story.Story` as the terminal (the scenario, how
often each outcome happens, the shortest way it goes wrong with its figure and its steps
in sentences, what the GIL changes, what to try next) and adds two things only a page can
do: stepping through a run forwards and back, and the scheduler game. Both are done by
the page's script (``assets/page.js``), which walks the state graph refsim computed
(:mod:`refsim.render.page_data`) and knows nothing of the model itself.

**One file, no network.** The style sheet and the script are inlined, the figure is an
SVG inlined as a ``data:`` image, and nothing else is referenced: no font, no CDN, no
favicon. A teacher can mail it, put it on any static host or open it from a USB stick.

**Scenario text is untrusted.** Every string from the file (a name, a description, a
thread's name, a message quoting them) is HTML-escaped here, with control characters
shown as symbols; the data the script reads sits in a ``<script type="application/json">``
element whose ``<``, ``>`` and ``&`` are JSON escapes, so that no text can close it; and the
script only ever sets ``textContent``. A Content-Security-Policy meta tag allows nothing
but the page's own style sheet and script, named by their SHA-256 hashes, and ``data:``
images: were some text to slip through as markup, it still could not run. The figure is
an image rather than inline SVG for the same reason: an image cannot run script, and
matplotlib's SVG styles its shapes with ``style`` attributes that such a policy (rightly)
refuses inline.

**Deterministic.** The same page comes out for the same input, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shlex
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from refsim.errors import visible
from refsim.model import Scenario
from refsim.page import Page
from refsim.render.compare import compare_cells
from refsim.render.page_data import page_data
from refsim.render.story import (
    COMPARE_LEGEND,
    failing_words,
    headline,
    runtime_cells,
    time_words,
    unknown_time,
)
from refsim.render.text import count_cell, paragraphs, percent
from refsim.report import legend, timed_cells, trace_cells
from refsim.story import Shape, Story
from refsim.trace import Exploration, RunResult

__all__ = [
    "escaped",
    "index_page",
    "outcomes_table",
    "page_html",
    "policy",
    "story_sections",
    "trace_table",
]


def _asset(name: str) -> str:
    return resources.files("refsim.render").joinpath("assets", name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def policy(script: str | None, style: str) -> str:
    """The Content-Security-Policy of a page whose only script and style sheet are these:
    nothing may load or run but them (by hash) and ``data:`` images."""
    scripts = "'none'" if script is None else _hash(script)
    return (
        f"default-src 'none'; script-src {scripts}; style-src {_hash(style)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


# -- markup ----------------------------------------------------------------------------------


def escaped(text: str) -> str:
    """Untrusted text as HTML: escaped, control characters as symbols."""
    return html.escape(visible(text), quote=True)


_TICKS = re.compile(r"`([^`]+)`")


def _prose(text: str) -> str:
    """A sentence with `code` in backticks set as code; everything escaped."""
    parts = _TICKS.split(text)
    return "".join(
        f"<code>{escaped(part)}</code>" if i % 2 else escaped(part) for i, part in enumerate(parts)
    )


def _row(cells: Sequence[str], numeric: Sequence[bool]) -> str:
    return (
        "<tr>"
        + "".join(f"<td{_num(n)}>{escaped(c)}</td>" for c, n in zip(cells, numeric, strict=True))
        + "</tr>"
    )


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    right: Sequence[str] = (),
    *,
    classes: str = "",
    after: Sequence[str] = (),
) -> str:
    """A table of text cells; columns named in ``right`` are numbers (right-aligned).
    ``after``: per row, more rows (HTML) to put under it."""
    numeric = [h in right for h in headers]
    head = "".join(
        f'<th scope="col"{_num(n)}>{escaped(h)}</th>' for h, n in zip(headers, numeric, strict=True)
    )
    body = "".join(
        _row(row, numeric) + (after[i] if i < len(after) else "") for i, row in enumerate(rows)
    )
    cls = f' class="{classes}"' if classes else ""
    return (
        f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _num(numeric: bool) -> str:
    return ' class="num"' if numeric else ""


def _pairs(rows: Iterable[tuple[str, str]], *, code: bool = False) -> str:
    """Labels and their texts (or commands) as a description list."""
    items = "".join(
        f"<dt>{escaped(label)}</dt>"
        + (f"<dd><code>{escaped(text)}</code></dd>" if code else f"<dd>{_prose(text)}</dd>")
        for label, text in rows
    )
    return f'<dl class="pairs">{items}</dl>'


def _section(anchor: str, number: int, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{number}. {escaped(title)}</h2>{body}</section>'


# -- the story -------------------------------------------------------------------------------


def _scenario(story: Story) -> str:
    body = "".join(f"<p>{_prose(p)}</p>" for p in paragraphs(story.scenario.description))
    return body + _pairs(story.facts)


def _outcomes(story: Story) -> str:
    body = f"<p>{_prose(headline(story))}</p>"
    return body if story.table is None else body + outcomes_table(story.table)


def outcomes_table(table: Exploration, *, witnesses: bool = False) -> str:
    """Each outcome, its count and share (drawn as a bar), and with ``witnesses`` the
    schedule that reaches it with the fewest preemptions."""
    column = "interleavings" if table.exhaustive else "runs"
    rows = "".join(
        f"<tr><td>{escaped(str(s.outcome))}</td><td class=num>{escaped(count_cell(s.count))}</td>"
        f"<td class=num>{escaped(percent(s.share))}</td>"
        f'<td class="bar"><progress max="1000" value="{round(s.share * 1000)}">'
        f"{escaped(percent(s.share))}</progress></td>"
        + (
            f"<td><code>{escaped(str(s.witness))}</code></td><td class=num>{s.preemptions}</td>"
            if witnesses
            else ""
        )
        + "</tr>"
        for s in table.outcomes
    )
    more = (
        '<th scope="col">witness</th><th scope="col" class="num">preemptions</th>'
        if witnesses
        else ""
    )
    return (
        f'<div class="scroll"><table class="outcomes"><thead><tr><th scope="col">outcome</th>'
        f'<th scope="col" class="num">{column}</th><th scope="col" class="num">share</th>'
        f'<th scope="col"><span class="hidden">share, drawn</span></th>{more}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _time(story: Story) -> str:
    time = story.time
    assert time is not None
    result = time.run(story.runtime)
    if result is None:
        return f"<p>{_prose(unknown_time(story))}</p>"
    before, gil, after = time_words(story)
    columns, rows = timed_cells(result)
    body = f"<p>{_prose(before)}</p>" + _table(columns, rows, columns[1:])
    if gil is not None:
        body += f"<p>{_prose(gil)}</p>"
    return body + f'<p class="note">{_prose(after)}</p>'


def _figure(page: Page) -> str:
    figure = page.figure
    if figure.svg is None:
        return f'<p class="note">{_prose(figure.caption)}</p>' if figure.caption else ""
    data = base64.b64encode(figure.svg.encode("utf-8")).decode("ascii")
    return (
        f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{escaped(figure.caption)}">'
        f"<figcaption>{_prose(figure.caption)}</figcaption></figure>"
    )


_NUMBERS = ("step", "register", "refcount", "value", "refcount/value", "true refs")


def trace_table(scenario: Scenario | None, result: RunResult) -> str:
    """A run's trace table, each anomaly's sentence under the step where it happened,
    and what the value columns mean (``scenario``: what ``result`` is a run of, which
    names the value column; without it the run's events do)."""
    headers, rows = trace_cells(scenario, result)
    by_step: dict[int, str] = {}
    for anomaly in result.anomalies:
        if anomaly.step is not None:
            by_step[anomaly.step] = by_step.get(anomaly.step, "") + (
                f"<tr class=anomaly><td colspan={len(headers)}><strong>! "
                f"{escaped(anomaly.kind.value)}:</strong> {escaped(anomaly.message)}</td></tr>"
            )
    assert result.trace is not None
    after = [by_step.get(event.step, "") for event in result.trace]
    words = legend(headers)
    note = "" if words is None else f'<p class="note">{escaped(words)}</p>'
    return _table(headers, rows, _NUMBERS, classes="trace", after=after) + note


def _failing(story: Story, figure: str, *, button: bool) -> str:
    """The shortest way it goes wrong; with ``button``, one that steps through it."""
    failing = story.failing
    body = f"<p>{_prose(failing_words(story))}</p>"
    if failing is None:
        return body + figure
    schedule = escaped(str(failing.run.schedule))
    body += figure + trace_table(failing.part, failing.run)
    if button:
        body += (
            f'<p><button type="button" class="load-run" data-schedule="{schedule}" hidden>'
            f"Step through this run</button></p>"
        )
    steps = "".join(
        f"<dt>{'end' if s.step is None else f'step {s.step}'}</dt><dd>{_prose(s.text)}</dd>"
        for s in failing.sentences
    )
    meanings = "".join(f"<li>{_prose(line)}.</li>" for line in failing.meanings)
    return (
        body
        + f'<h3>Step by step</h3><dl class="pairs steps">{steps}</dl>'
        + f"<h3>In a real CPython process</h3><ul>{meanings}</ul>"
    )


def _gil(story: Story) -> str:
    headers, rows = runtime_cells(story)
    whys = _pairs((row.runtime.value, row.why) for row in story.runtimes)
    return (
        _table(headers, rows, headers[3:])
        + "<p>Why, runtime by runtime:</p>"
        + whys
        + f'<p class="lesson">{_prose(story.lesson)}</p>'
    )


def _side_by_side(story: Story) -> str:
    time = story.time
    assert time is not None
    headers, rows = compare_cells(time.rows)
    return (
        _table(headers, rows, headers[3:])
        + f'<p class="note">{_prose(COMPARE_LEGEND)}</p>'
        + f"<p>{_prose(story.lesson)}</p>"
        + f'<p class="lesson"><strong>The lesson:</strong> {_prose(time.lesson)}</p>'
    )


def _further(story: Story, *, page: bool) -> str:
    """What to try next; on a page, also how to write it again."""
    rows = list(story.next)
    if page:
        stem = Path(story.file).stem
        rows.append(("this page", f"refsim html {shlex.quote(story.file)} -o {stem}.html"))
    return _pairs(rows, code=True)


# -- what only a page does -------------------------------------------------------------------

_STEP_INTRO = (
    "Type a schedule, such as `T1 T2*3 T1*2` (T1 runs one micro-step, then T2 three, then T1 "
    "two), or pick a run; then step forwards and back with the buttons or the ← and → keys. "
    "Each step lights up the thread that ran, its micro-step, its register and the count it "
    "touched beside the true refs."
)
_PLAY_INTRO = (
    "You are the scheduler: each button runs that thread's next micro-step (a thread that "
    "cannot run says why). Undo takes a step back; the hint shows, for each move, how the "
    "interleavings that start with it end. At the end you see how common your outcome is, "
    "and the fewest preemptions that reach it."
)


_PARTS = (
    '<div class="parts" id="parts" hidden><label>Process <select id="part"></select>'
    "</label> <span class=note>(its threads run apart from the others': each process is "
    "stepped and played on its own)</span></div>"
)


def _stepper() -> str:
    return (
        f"<p>{_prose(_STEP_INTRO)}</p>"
        '<div class="controls" id="step-controls" hidden>'
        '<label class="pick">Run <select id="step-pick"></select></label>'
        '<form id="step-form"><label for="step-schedule">Schedule</label> '
        '<input id="step-schedule" type="text" spellcheck="false" autocomplete="off" '
        'autocapitalize="off"> <button type="submit">Load</button></form>'
        '<div class="nav"><button type="button" id="step-first" title="the start">◀◀</button>'
        '<button type="button" id="step-back" title="back one step (←)">◀ back</button>'
        '<span id="step-where" class="where"></span>'
        '<button type="button" id="step-next" title="forward one step (→)">next ▶</button>'
        '<button type="button" id="step-last" title="the end">▶▶</button>'
        '<button type="button" id="step-play" title="play on from this step in the game below">'
        "Play on from here</button></div></div>"
        '<p id="step-message" class="message" role="status" aria-live="polite"></p>'
        '<div class="stage" id="step-stage"><div id="step-board"></div>'
        '<div id="step-trace"></div></div>'
    )


def _game() -> str:
    return (
        f"<p>{_prose(_PLAY_INTRO)}</p>"
        '<p id="play-part" class="note" hidden></p>'
        '<div class="controls" id="play-controls" hidden>'
        '<button type="button" id="play-undo">Undo</button>'
        '<button type="button" id="play-restart">Start again</button>'
        '<button type="button" id="play-hint" aria-pressed="false">Hint: the odds of each '
        "move</button>"
        '<button type="button" id="play-review">Step through what you played</button></div>'
        '<p id="play-message" class="message" role="status" aria-live="polite"></p>'
        '<div class="stage" id="play-stage"><div id="play-board"></div>'
        '<div id="play-trace"></div></div>'
        '<div id="play-hints"></div><div id="play-end"></div>'
    )


def _data(page: Page) -> str:
    """The graph document as the text of a JSON script element: ``<``, ``>`` and ``&`` as
    JSON escapes, so that no string in it can end the element or start a comment."""
    text = json.dumps(page_data(page), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_NOSCRIPT = (
    '<noscript><p class="note">Stepping through runs and the scheduler game need '
    "JavaScript, which is off in this browser; the rest of the page is all here.</p></noscript>"
)


def story_sections(
    story: Story, *, figure: str = "", interactive: bool = False
) -> list[tuple[str, str, str]]:
    """The story's sections as (anchor, title, HTML body): what a page shows, and a
    notebook too (without ``interactive``: no step-through, no game, which need the
    page's script). ``figure`` is the figure's HTML, where the story places it."""
    scenario = story.scenario
    race = story.shape is Shape.RACE
    sections: list[tuple[str, str, str]] = [
        ("scenario", f"The scenario: {scenario.name}", _scenario(story)),
    ]
    if race:
        title = f"How often each outcome happens (runtime {story.runtime})"
        sections.append(("outcomes", title, _outcomes(story)))
    else:
        title = f"Where the time goes (runtime {story.runtime}, simulated time)"
        sections.append(("time", title, _time(story) + figure))
    if race or story.failing is not None:
        shown = figure if race else ""
        wrong = _failing(story, shown, button=interactive)
        sections.append(("wrong", "The shortest way it goes wrong", wrong))
    if interactive:
        sections.append(("step", "Step through a run", _NOSCRIPT + _PARTS + _stepper()))
        sections.append(("play", "Be the scheduler", _NOSCRIPT + _game()))
    if race:
        sections.append(("gil", "What the GIL changes", _gil(story)))
    else:
        sections.append(("side", "The runtimes side by side", _side_by_side(story)))
    sections.append(("further", "Go further", _further(story, page=interactive)))
    return sections


def page_html(page: Page, *, maker: str = "refsim") -> str:
    """The whole page (see the module docstring); ``maker`` names refsim and its version,
    in the footer and the generator tag."""
    story = page.story
    scenario = story.scenario
    sections = story_sections(story, figure=_figure(page), interactive=True)
    nav = "".join(f'<a href="#{anchor}">{escaped(title)}</a>' for anchor, title, _ in sections)
    body = "".join(
        _section(anchor, number, title, content)
        for number, (anchor, title, content) in enumerate(sections, 1)
    )
    style, script = _asset("page.css"), _asset("page.js")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy(script, style)}">\n'
        f'<meta name="generator" content="{escaped(maker)}">\n'
        f"<title>{escaped(scenario.name)} · refsim</title>\n"
        '<link rel="icon" href="data:,">\n'
        f"<style>{style}</style>\n</head>\n<body>\n"
        f'<header><p class="brand">refsim · why CPython has a GIL</p>'
        f"<h1>{escaped(scenario.name)}</h1>"
        f'<p class="sub">runtime {escaped(story.runtime.value)}</p>'
        f"<nav>{nav}</nav></header>\n<main>{body}</main>\n"
        f"<footer><p>Made by {escaped(maker)}: one file, with everything it needs "
        f"inside; it loads nothing from the network. The runs and the game walk the states "
        f"refsim computed: every number here is refsim's.</p></footer>\n"
        f'<script type="application/json" id="refsim-data">{_data(page)}</script>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


def index_page(entries: Sequence[tuple[str, str, str]], *, maker: str = "refsim") -> str:
    """The index of a site of pages: (file name, scenario name, first sentence) each."""
    style = _asset("page.css")
    items = "".join(
        f'<li><a href="{escaped(href)}">{escaped(name)}</a> <span>{_prose(about)}</span></li>'
        for href, name, about in entries
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy(None, style)}">\n'
        f'<meta name="generator" content="{escaped(maker)}">\n'
        "<title>refsim: the scenarios</title>\n"
        '<link rel="icon" href="data:,">\n'
        f"<style>{style}</style>\n</head>\n<body>\n"
        '<header><p class="brand">refsim · why CPython has a GIL</p><h1>The scenarios</h1>'
        '<p class="sub">Each page tells one scenario\'s story: how often each outcome '
        "happens, the shortest way it goes wrong, step by step, and a game in which you "
        "are the scheduler.</p></header>\n"
        f'<main><ul class="index">{items}</ul></main>\n'
        f"<footer><p>Made by {escaped(maker)}. Every page is one file that loads "
        "nothing from the network: put the folder on any web server, or hand it out as a "
        "zip.</p></footer>\n</body>\n</html>\n"
    )
