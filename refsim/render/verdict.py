"""A claim's verdict in one sentence, the same words in every command.

What a sentence can say depends on the verdict's basis (:class:`refsim.claims.Basis`):
a complete exploration says what can and cannot happen; one run says what it found; a
search that found nothing says what that does and does not show.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from refsim.claims import Basis, Verdict, sorted_kinds
from refsim.model import AnomalyKind
from refsim.render.text import and_words

__all__ = ["kinds_words", "verdict_text"]


def kinds_words(kinds: Iterable[AnomalyKind]) -> str:
    """``leak and lost-update``; ``no anomaly`` for none."""
    names = [k.value for k in sorted_kinds(kinds)]
    return and_words(names) if names else "no anomaly"


def _be(kinds: Iterable[AnomalyKind]) -> str:
    return "is" if len(set(kinds)) == 1 else "are"


def verdict_text(
    verdict: Verdict, *, want: AnomalyKind | None = None, retry: str | None = None
) -> Text:
    """The verdict as one sentence; a broken claim starts with a bold red "unexpected:".
    ``want``: the kind a search looked for; ``retry``: how to try another interleaving,
    for a run that did not show what the claim says can happen."""
    if verdict.basis is Basis.SEARCH:
        words = _nothing_found(verdict, want)
    elif verdict.basis is Basis.RUN:
        words = _run(verdict, retry)
    else:
        words = _explored(verdict)
    text = Text()
    if not verdict.holds:
        text.append("unexpected: ", style="bold red")
    text.append(words)
    return text


def _expected(verdict: Verdict) -> str:
    """What the claim allows, as the subject of "but ... found"."""
    runtime = verdict.runtime
    c = verdict.claim
    assert c.kinds is not None
    if c.implicit:
        return (
            f"the scenario makes no claim for {runtime}, its own runtime, so no anomaly is expected"
        )
    if not c.kinds:
        return f"the scenario claims no anomaly can happen under {runtime}"
    return f"the scenario claims only {kinds_words(c.kinds)} can happen under {runtime}"


def _explored(v: Verdict) -> str:
    runtime = v.runtime
    c = v.claim
    if c.kinds is None:
        if not v.found:
            return f"no anomaly can happen under {runtime} (the scenario makes no claim for it)."
        return (
            f"the scenario makes no claim for {runtime}, so nothing is checked there; "
            f"{kinds_words(v.found)} {_be(v.found)} reachable."
        )
    if v.holds:
        if not v.basis.complete:
            return (
                f"nothing beyond the scenario's claims for {runtime} was found (only a "
                f"complete exploration can show that each claimed kind happens)."
            )
        if c.implicit:
            return (
                f"no anomaly can happen under {runtime}, as expected of the file's own runtime "
                f"(expect: makes no claim for it)."
            )
        if not c.kinds:
            return f"as the scenario claims, no anomaly can happen under {runtime}."
        return (
            f"as the scenario claims, {kinds_words(c.kinds)} can happen under {runtime}, "
            f"and nothing else can."
        )
    sentences = []
    if v.unexpected:
        sentences.append(
            f"{_expected(v)}, but {kinds_words(v.unexpected)} {_be(v.unexpected)} reachable"
        )
    if v.missing:
        them = "it" if len(v.missing) == 1 else "them"
        sentences.append(
            f"the scenario claims {kinds_words(v.missing)} can happen under {runtime}, but "
            f"no interleaving reaches {them}"
        )
    return "; and ".join(sentences) + "."


def _run(v: Verdict, retry: str | None) -> str:
    runtime = v.runtime
    c = v.claim
    found = kinds_words(v.found)
    if c.kinds is None:
        if not v.found:
            return f"no anomaly (the scenario makes no claim for {runtime})."
        return (
            f"this run found {found}; the scenario makes no claim for {runtime}, so that is "
            f"not checked."
        )
    if v.unexpected:
        return f"{_expected(v)}, but this run found {kinds_words(v.unexpected)}."
    if not c.kinds:
        if c.implicit:
            return (
                f"no anomaly, as expected of the file's own runtime, {runtime} (one run is one "
                f"interleaving: `refsim check` covers them all)."
            )
        return (
            f"no anomaly, as the scenario claims for {runtime} (one run is one interleaving: "
            f"`refsim check` covers them all)."
        )
    if not v.found:
        again = f" ({retry})" if retry else ""
        return (
            f"no anomaly this time; the scenario claims {kinds_words(c.kinds)} can happen under "
            f"{runtime}{again}."
        )
    rest = c.kinds - v.found
    also = f"; it also claims {kinds_words(rest)}, which this run did not reach" if rest else ""
    return f"as the scenario claims, {found} can happen under {runtime}{also}."


def _nothing_found(v: Verdict, want: AnomalyKind | None) -> str:
    runtime = v.runtime
    kinds = v.claim.kinds
    if kinds is None:
        return f"no anomaly found (the scenario makes no claim for {runtime})."
    if not kinds and v.claim.implicit:
        return (
            f"no anomaly found, as expected of the file's own runtime, {runtime} (a search can "
            f"show an anomaly, not prove there is none)."
        )
    if not kinds:
        return (
            f"consistent with the scenario's claim that no anomaly can happen under {runtime} "
            f"(a search can show an anomaly, not prove there is none)."
        )
    if want is not None and want not in kinds:
        return (
            f"as the scenario claims, {want} cannot happen under {runtime} (only "
            f"{kinds_words(kinds)} can)."
        )
    what = kinds_words(kinds) if want is None else want.value
    return (
        f"not shown: the scenario claims {what} can happen under {runtime}; a bigger "
        f"--max-examples or another --seed may find it."
    )
