"""Modal submissions (the snooze-with-a-date modal arrives with the scheduled-work issue)."""


def register(app, deps) -> None:
    return None
