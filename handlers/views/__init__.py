"""Modal submissions."""

from handlers.views import snooze


def register(app, deps) -> None:
    snooze.register(app, deps)
