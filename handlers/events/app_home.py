"""App Home: the person's own quota, pipeline and stalled deals, published when they open it."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for
from render.home import home_view

HOME_QUESTIONS = ("/sales quota", "/sales pipeline", "/sales stalled")


def register(app, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    def on_home(body, event, client):
        if event.get("tab", "home") != "home":
            return
        if not deps.seen_events.first_time(body):
            return
        user_id = event["user"]
        answers = [answer_for(deps, client, user_id, q) for q in HOME_QUESTIONS]
        if answers[0].kind == "error":
            answers = answers[:1]
        client.views_publish(user_id=user_id, view=home_view(answers))
