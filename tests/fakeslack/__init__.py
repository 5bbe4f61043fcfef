"""A fake Slack for tests: a local Web API server (``FakeSlack``), signed requests to the bot (``post_*``), and
a way to serve a bolt App over HTTP (``serve_bolt``).

Fixture: ``fake_slack`` (a started FakeSlack, stopped after the test). To use it in any test file, add to
tests/conftest.py::

    from tests.fakeslack import fake_slack  # noqa: F401  (re-exported pytest fixture)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeslack.boltserver import Served, serve_bolt, serve_wsgi
from tests.fakeslack.incoming import (
    Reply,
    app_home_opened,
    app_mention,
    block_action_payload,
    date_value,
    dm_message,
    event_callback,
    input_value,
    option_value,
    post_block_action,
    post_event,
    post_payload,
    post_signed,
    post_slash_command,
    post_url_verification,
    post_view_submission,
    sign,
    slash_command_form,
    stale_timestamp,
    view_submission_payload,
)
from tests.fakeslack.server import Call, FakeSlack, FakeSlackError, Message, Upload


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started FakeSlack; ``fake_slack.api_url`` is the ``base_url`` / ``SLACK_API_URL``. Fails the test if
    the fake itself raised while answering (``fake_slack.errors``), which would otherwise only show as a 500."""
    with FakeSlack() as fake:
        yield fake
    if fake.errors:
        raise FakeSlackError(f"the fake Slack raised while answering: {fake.errors!r}")


__all__ = [
    "Call",
    "FakeSlack",
    "FakeSlackError",
    "Message",
    "Reply",
    "Served",
    "Upload",
    "app_home_opened",
    "app_mention",
    "block_action_payload",
    "date_value",
    "dm_message",
    "event_callback",
    "fake_slack",
    "input_value",
    "option_value",
    "post_block_action",
    "post_event",
    "post_payload",
    "post_signed",
    "post_slash_command",
    "post_url_verification",
    "post_view_submission",
    "serve_bolt",
    "serve_wsgi",
    "sign",
    "slash_command_form",
    "stale_timestamp",
    "view_submission_payload",
]
