"""Text a person typed, without control characters: NUL above all (PostgreSQL's text cannot hold one) and the others
are no words, so each reads as a space. Tabs and line breaks stay."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(text: str) -> str:
    return _CONTROL.sub(" ", text)
