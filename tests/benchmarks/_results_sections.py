"""Shared fixtures of the benchmark smoke tests: a RESULTS.md with other people's content."""

from __future__ import annotations

HAND = "# Benchmark results\n\nHand-written text, kept by every script.\n\n"
OTHER = ("<!-- other.py: begin -->\n# Another script's table\n\n| a | b |\n|---|---|\n"
         "| 1 | 2 |\n<!-- other.py: end -->\n")
TAIL = "\nTrailing hand-written text.\n"


def stale(begin: str, end: str) -> str:
    """A hand-pasted old section of a script, which its next run must replace."""
    return f"{begin}\n# Pasted by hand\n\nold numbers\n{end}\n"


def section(text: str, begin: str, end: str) -> str:
    """The one section between ``begin`` and ``end`` (with its trailing newline)."""
    assert text.count(begin) == 1 and text.count(end) == 1
    return text[text.index(begin):text.index(end) + len(end) + 1]
