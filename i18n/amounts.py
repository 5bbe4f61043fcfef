"""Amounts typed in a question or a form, read the asker's way (CLDR's decimal and group marks), never guessed."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_decimal_symbol, get_group_symbol

from errors import UserError
from i18n import N_, _, current_locale


class AmountUnclear(UserError):
    """Digits that read as two different amounts (`125.000` in English); the sentence says both."""


NOT_AN_AMOUNT = N_("Enter an amount such as 125000, 125,000 or 125k.")


def read_number(digits: str, said: str) -> Decimal:
    """Digits with marks (`125.000`, `1,250.50`) the asker's way: a mark before one or two digits is the decimal
    mark whatever the language; before three, the asker's CLDR mark decides, and a decimal mark there is refused
    (`125.000` in English: 125 or 125,000?). `said` is the amount as typed, for the sentence."""
    decimal_mark = get_decimal_symbol(current_locale())
    group_mark = get_group_symbol(current_locale())
    marks = [c for c in digits if c in ".,"]
    if not marks:
        return Decimal(digits)
    last = max(digits.rfind("."), digits.rfind(","))
    head, mark, tail = digits[:last], digits[last], digits[last + 1:]
    if len(tail) == 3 and mark == group_mark or len(set(marks)) == 1 and len(marks) > 1:
        return Decimal(_ungrouped(digits, mark))  # every mark groups thousands: 125,000 · 1.250.000
    if len(tail) == 3 and mark == decimal_mark and len(marks) == 1:
        raise AmountUnclear(_("I can't tell whether {said} means {small} or {large}: write {large} or {short}.").format(
            said=said, small=head, large=head + tail, short=f"{head}k"))
    if mark in head:
        raise UserError(_(NOT_AN_AMOUNT))
    other = "," if mark == "." else "."
    return Decimal(f"{_ungrouped(head, other) if other in head else head}.{tail}")


def _ungrouped(digits: str, mark: str) -> str:
    """`1,250,000` → `1250000` when every group after the first has three digits; else a UserError."""
    first, *rest = digits.split(mark)
    if not first or len(first) > 3 or any(len(g) != 3 for g in rest) or not all(g.isdigit() for g in (first, *rest)):
        raise UserError(_(NOT_AN_AMOUNT))
    return first + "".join(rest)
