"""Event listeners: @mentions, direct messages, App Home."""

from handlers.events import app_home, direct_message, mention


def register(app, deps) -> None:
    mention.register(app, deps)
    direct_message.register(app, deps)
    app_home.register(app, deps)
