"""The “CSV” button: the same question with `csv`, its full rows uploaded as a file to the clicker's DM
(handlers/actions/file_button.py)."""

from __future__ import annotations

from handlers.actions.file_button import register_file_button
from handlers.deps import BotDeps
from i18n import N_


def _file_only(answer) -> None:
    answer.chart = None  # the CSV button sends the file only


def register(app, deps: BotDeps) -> None:
    register_file_button(app, deps, "sales_csv", lambda answer: answer.export is not None,
                         N_("There are no rows to export here."), _file_only)
