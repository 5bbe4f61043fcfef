"""The person's language: which locale is speaking now, and the gettext catalogs for English, Indonesian, Italian.

The lowest layer (like `config`): everything else may import it, it imports nothing of the bot. The locale of the
person being answered is held in a context variable, set once where a request (or one recipient's digest or nudge)
starts with `use_locale(...)`; formatters (`render.format`) and `_()` read it, so deep code needs no extra argument.

Catalogs are the `.po` files under `locale/`, read with Babel's `read_po` and compiled in memory at first use:
no manual compile step, nothing written to disk.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

LANGUAGES = ("en", "id", "it")  # the languages the bot speaks; English is the source language of the catalogs
SOURCE_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "id": "Bahasa Indonesia", "it": "Italiano"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

_current: ContextVar[str] = ContextVar("locale", default=SOURCE_LANGUAGE)
_currency: ContextVar[str] = ContextVar("currency", default="USD")


def language_of(code: str | None) -> str | None:
    """The bot language for a locale code ('it-IT', 'id_ID', 'en-GB', 'in' → 'it', 'id', 'en', 'id'); None when the
    bot does not speak it (or the code is empty)."""
    if not code:
        return None
    lang = code.strip().replace("-", "_").split("_")[0].lower()
    if lang == "in":  # the old ISO 639 code for Indonesian, still sent by some clients
        lang = "id"
    return lang if lang in LANGUAGES else None


def current_locale() -> str:
    """The language being spoken now ('en' outside any `use_locale`)."""
    return _current.get()


@contextmanager
def use_locale(code: str | None) -> Iterator[str]:
    """Speak `code` (any form `language_of` reads; unknown → English) inside the block."""
    lang = language_of(code) or SOURCE_LANGUAGE
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def set_locale(code: str | None) -> str:
    """Speak `code` for the rest of the current context (a request thread); returns the language chosen."""
    lang = language_of(code) or SOURCE_LANGUAGE
    _current.set(lang)
    return lang


def current_currency() -> str:
    """The currency money is shown in now (ISO 4217): the org currency, set where a request starts."""
    return _currency.get()


def set_currency(code: str) -> str:
    """Show money in `code` for the rest of the current context (a listener); returns it."""
    _currency.set(code.upper())
    return _currency.get()


@contextmanager
def use_currency(code: str | None) -> Iterator[str]:
    """Show money in `code` inside the block (None keeps the current one)."""
    token = _currency.set((code or _currency.get()).upper())
    try:
        yield _currency.get()
    finally:
        _currency.reset(token)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog for `lang` (English: the identity)."""
    if lang == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """`message` in the current language (the English text when the catalog lacks it)."""
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for `n`, in the current language."""
    return translations(current_locale()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (labels in module-level tables)."""
    return message
