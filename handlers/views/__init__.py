"""Modal submissions."""

from handlers.views import forecast_call, snooze


def register(app, deps) -> None:
    snooze.register(app, deps)
    forecast_call.register(app, deps)
