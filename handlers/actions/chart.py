"""The “Chart” button: the same question with a chart, delivered privately (handlers/actions/file_button.py)."""

from __future__ import annotations

from handlers.actions.file_button import register_file_button
from handlers.deps import BotDeps
from i18n import N_


def register(app, deps: BotDeps) -> None:
    register_file_button(app, deps, "sales_chart", lambda answer: answer.chart is not None,
                         N_("There is no chart for this answer."))
