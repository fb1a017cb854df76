"""Words: the plain strings every output is made of (counts, plurals, shares, sentences),
with nothing of the terminal's.

:mod:`refsim.render.text` lays them out on a terminal (rich); the JSON documents, the
page and the story use them as they are. Importing this module imports no rich, so a
command writing ``--json`` can use them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from refsim.errors import visible
from refsim.model import count_text

__all__ = [
    "COUNT_DIGITS",
    "and_words",
    "count_cell",
    "first_sentence",
    "paragraphs",
    "percent",
    "plural",
    "visible",
    "wrap",
]

COUNT_DIGITS = 16
"""Counts with more digits are shown in a table as ``5.72 × 10^79`` (exact in the JSON)."""

_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def paragraphs(text: str) -> list[str]:
    """``text``'s paragraphs (separated by blank lines), each on one line: the line breaks
    inside a paragraph are the author's wrapping, not meaning. Control characters are
    shown as symbols."""
    found = [" ".join(part.split()) for part in _BLANK_LINE.split(text)]
    return [visible(p) for p in found if p]


def first_sentence(text: str) -> str:
    """``text``'s first sentence, on one line, control characters shown as symbols."""
    flat = visible(" ".join(text.split()))
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]


def plural(n: int, word: str) -> str:
    """``1 step``, ``2 steps``, ``1,000 steps``."""
    return f"{count_text(n)} {word}" if n == 1 else f"{count_text(n)} {word}s"


def and_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def percent(value: Fraction) -> str:
    """A share as a percentage with one decimal, never rounding a possible outcome to 0%
    or an uncertain one to 100%."""
    if value == 0 or value == 1:
        return f"{int(value * 100)}%"
    if value < Fraction(1, 1000):
        return "<0.1%"
    if value > Fraction(999, 1000):
        return ">99.9%"
    return f"{float(value) * 100:.1f}%"


def count_cell(n: int) -> str:
    """An exact count for a table cell: with separators, or rounded once it is too long to
    read (or to fit beside the outcome it counts)."""
    return count_text(n, COUNT_DIGITS)


def wrap(text: str, width: int) -> list[str]:
    """``text`` broken at its spaces into lines of at most ``width`` characters, as the
    terminal's console breaks a line: a word longer than a line starts a line of its own
    and is folded, and its last piece goes on with the words after it."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        joined = f"{line} {word}" if line else word
        if len(joined) <= width:
            line = joined
            continue
        if line:
            lines.append(line)
        while len(word) > width:
            lines.append(word[:width])
            word = word[width:]
        line = word
    lines.append(line)
    return lines
