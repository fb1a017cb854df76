"""Standard output and error as a careful Unix tool treats them.

* **Any encoding.** refsim's text uses a few characters beyond ASCII (``·``, ``×``, ``…``,
  ``µs``, the control pictures ``␛`` that stand for control characters). A stream that
  cannot encode one (``PYTHONIOENCODING=ascii``, a ``C`` locale, a Latin-1 terminal) gets
  an ASCII stand-in instead (``-``, ``x``, ``...``, ``us``, ``^[``) rather than a crash:
  :func:`prepare` sets the streams' error handler to :func:`fallback`. Text from a path
  that is not valid UTF-8 (held as lone surrogates) prints as ``?`` (or ``\\ufffd``),
  never as its raw bytes.
* **A reader that leaves.** ``refsim explore x | head`` closes the pipe early: refsim
  stops quietly and exits :data:`EXIT_BROKEN_PIPE` (141, 128 + SIGPIPE, as a Unix tool
  ended by SIGPIPE), with text and ``--json`` alike (:func:`silence`).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import sys
import unicodedata
from typing import TextIO

__all__ = [
    "DEFAULT_WIDTH",
    "ERRORS",
    "EXIT_BROKEN_PIPE",
    "LEAST_WIDTH",
    "can_encode",
    "columns",
    "fallback",
    "prepare",
    "silence",
    "width",
]

EXIT_BROKEN_PIPE = 141
"""The exit status when the reader of standard output (or error) went away: 128 + SIGPIPE."""

ERRORS = "refsim-ascii"
"""The name of :func:`fallback` as a codec error handler."""

_STAND_INS = {
    "·": "-",
    "×": "x",
    "≤": "<=",
    "≥": ">=",
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "…": "...",
    "µ": "u",
    "μ": "u",
    "—": "--",
    "–": "-",
    "−": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "✓": "v",
    "✗": "x",
    "␡": "^?",
    "\ufffd": "?",
}
"""ASCII for the characters refsim itself prints."""

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _ascii(char: str) -> str:
    """One character that a stream cannot encode, in ASCII."""
    if char in _STAND_INS:
        return _STAND_INS[char]
    code = ord(char)
    if 0x2400 <= code < 0x2420:  # a control picture (␛): caret notation, as `cat -v` has it
        return "^" + chr(code - 0x2400 + 0x40)
    letters = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return letters if letters and letters.isprintable() else "?"


def _stand_in(char: str, encoding: str) -> str:
    """``char``'s stand-in on a stream of ``encoding``: U+FFFD for a lone surrogate (a
    byte of a path that is not UTF-8) when the stream can show it, else ASCII."""
    if 0xD800 <= ord(char) < 0xE000 and can_encode(encoding, "\ufffd"):
        return "\ufffd"
    return _ascii(char)


def fallback(error: UnicodeError) -> tuple[bytes, int]:
    """A codec error handler: each character the encoding cannot take as a stand-in; an
    exponent (a run of superscript digits, ``10⁷⁹``) as ``^79``. (Bytes, already encoded:
    the UTF-8 encoder takes only ASCII text back from a handler.)"""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    exponent = False
    for char in error.object[error.start : error.end]:
        digit = char.translate(_SUPERSCRIPTS)
        if digit != char:
            out.append(digit if exponent else "^" + digit)
        else:
            out.append(_stand_in(char, error.encoding))
        exponent = digit != char
    return "".join(out).encode(error.encoding), error.end


codecs.register_error(ERRORS, fallback)


def can_encode(encoding: str | None, text: str) -> bool:
    """True when a stream of ``encoding`` (``None``: text in memory) can take ``text``."""
    if encoding is None:
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


DEFAULT_WIDTH = 80
"""The width of output off a terminal (pipes, files, tests), unless ``COLUMNS`` says."""
LEAST_WIDTH = 20
"""The narrowest refsim lays its output out for: a smaller width is taken as this one (a
table then shows each row as a block of lines, every column still there)."""


def width(stream: TextIO) -> int:
    """The columns output to ``stream`` may use: ``COLUMNS`` when it is a number of 1 or
    more, else the terminal's width, else 80; at least 20."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), LEAST_WIDTH)
    if stream.isatty():
        try:
            size = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, io.UnsupportedOperation):
            size = 0
        if size > 0:
            return max(size, LEAST_WIDTH)
    return DEFAULT_WIDTH


def columns(stream: TextIO) -> int:
    """The width lines to ``stream`` are laid out in: :func:`width`, less the room the
    ASCII stand-ins of ``…`` and an exponent need when ``stream`` cannot encode those
    (they are longer than what they stand for, and no line may outgrow the width)."""
    if can_encode(getattr(stream, "encoding", None), "·×…"):
        return width(stream)
    return max(width(stream) - 2, LEAST_WIDTH)


def prepare(stream: TextIO) -> None:
    """Let ``stream`` write any text: what its encoding cannot take becomes a stand-in."""
    if isinstance(stream, io.TextIOWrapper):
        with contextlib.suppress(ValueError, io.UnsupportedOperation):  # closed, or odd
            stream.reconfigure(errors=ERRORS)


def silence() -> None:
    """After a broken pipe: point standard output at the null device, so that the
    interpreter's last flush on its way out does not fail again, loudly (the recipe of
    Python's documentation, "Note on SIGPIPE")."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        finally:
            os.close(null)
