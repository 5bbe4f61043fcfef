"""Slash-command listeners."""

from handlers.commands import sales


def register(app, deps) -> None:
    sales.register(app, deps)
