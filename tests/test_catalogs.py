"""The gettext catalogs: every message the bot's code marks is in the template and translated in Indonesian and
Italian, and no translation drops or adds a placeholder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from i18n import LOCALE_DIR, _, ngettext, translations, use_locale

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def _source_messages() -> set[str | tuple[str, ...]]:
    """Every message marked in the code, extracted as `pybabel extract -F babel.cfg -k N_` does."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {"_": None, "ngettext": (1, 2), "N_": None}
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    found.discard("")
    return found


def _catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _key(message) -> str | tuple[str, ...]:
    return message.id if isinstance(message.id, str) else tuple(message.id)


def test_the_template_holds_every_message_in_the_code():
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        template = {_key(m) for m in read_po(f) if m.id}
    missing = _source_messages() - template
    assert not missing, f"messages.pot is out of date (run pybabel extract, see babel.cfg): {sorted(map(str, missing))}"


@pytest.mark.parametrize("lang", ["id", "it"])
def test_every_message_is_translated_with_the_same_placeholders(lang):
    catalog = _catalog(lang)
    translated = {_key(m): m for m in catalog if m.id}
    problems = []
    for key in sorted(_source_messages(), key=str):
        message = translated.get(key)
        strings = [] if message is None else (
            [message.string] if isinstance(message.string, str) else list(message.string))
        if not strings or not all(strings) or message.fuzzy:
            problems.append(f"untranslated: {key!r}")
            continue
        wanted = set(PLACEHOLDER.findall(key if isinstance(key, str) else key[-1]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {key!r} → {text!r}")
    assert not problems, "\n".join(problems)


def test_the_catalogs_are_compiled_at_start_and_spoken_per_context():
    assert translations("it") is translations("it")  # compiled once, in memory
    with use_locale("it_IT"):
        assert _("Your settings") == "Le tue impostazioni"
        assert ngettext("{n} day", "{n} days", 2).format(n=2) == "2 giorni"
        with use_locale("id"):
            assert _("Your settings") == "Pengaturan Anda"
        assert _("Open in CRM") == "Apri nel CRM"
    assert _("Your settings") == "Your settings"
    with use_locale("fr"):  # a language the bot does not speak: English
        assert _("Your settings") == "Your settings"
