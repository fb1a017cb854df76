"""Renderers: the same values (a Story, a Verdict, an exploration, a play session, a run)
told on a terminal (rich, wrapped to its width, untrusted text shown literally) or as
JSON. They compute nothing: every number they show is in the value they are given.

* :mod:`refsim.render.text`: terminal text that fits the width, and is harmless.
* :mod:`refsim.render.verdict`: a claim's verdict in one sentence.
* :mod:`refsim.render.story`: ``refsim FILE``.
* :mod:`refsim.render.explore`: the outcome table and ``refsim check``'s report.
* :mod:`refsim.render.play`: ``refsim play``'s turns, hints and ending.
* :mod:`refsim.render.json`: every one of these as JSON documents.
"""
