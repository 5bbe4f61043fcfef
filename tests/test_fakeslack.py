"""The fake Slack against the real slack-sdk and slack-bolt: what the bot's Slack tests stand on."""

from __future__ import annotations

import contextlib
import json
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests import fakeslack
from tests.fakeslack import (
    FakeSlack,
    FakeSlackError,
    app_home_opened,
    app_mention,
    input_value,
    post_block_action,
    post_event,
    post_signed,
    post_slash_command,
    post_url_verification,
    post_view_submission,
    serve_bolt,
    sign,
    stale_timestamp,
)

fake_slack = fakeslack.fake_slack  # the fixture, as tests/conftest.py can re-export it

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
FAST = FixedValueRetryIntervalCalculator(0.01)


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake_slack.api_url)


# ---------------------------------------------------------------- Web API basics


def test_api_url_is_a_slack_sdk_base_url(fake_slack):
    assert fake_slack.api_url == fake_slack.url + "/api/"
    assert fake_slack.env() == {"SLACK_API_URL": fake_slack.api_url}
    # slack-sdk appends the slash itself, so SLACK_API_URL without it works too
    assert WebClient(token=TOKEN, base_url=fake_slack.url + "/api").auth_test()["ok"]


def test_auth_test_and_users(fake_slack, client):
    fake_slack.add_user("U1", "dana@example.com", "Dana Reyes", tz="Europe/Berlin")
    fake_slack.add_user("U2", "gone@example.com", "Gone Person", deleted=True)

    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0001")
    assert "chat:write" in auth.headers["x-oauth-scopes"]

    user = client.users_info(user="U1")["user"]
    assert user["profile"]["email"] == "dana@example.com"
    assert user["real_name"] == "Dana Reyes" and user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200) and user["deleted"] is False
    assert client.users_info(user="U2")["user"]["deleted"] is True
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True

    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"

    assert client.users_lookupByEmail(email="DANA@example.com")["user"]["id"] == "U1"
    with pytest.raises(SlackApiError) as err:
        client.users_lookupByEmail(email="nobody@example.com")
    assert err.value.response["error"] == "users_not_found"

    call = fake_slack.last("users.info")
    assert call.params == {"user": "U404"} and call.token == TOKEN
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    assert [c.ok for c in fake_slack.calls("users.info")] == [True, True, True, False]


def test_post_update_ephemeral_and_messages(fake_slack, client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Pipeline* $1.2M"}}]
    first = client.chat_postMessage(channel="C1", text="Pipeline", blocks=blocks)
    reply = client.chat_postMessage(channel="C1", text="in thread", thread_ts=first["ts"])
    assert first["channel"] == "C1" and first["message"]["blocks"] == blocks
    assert float(reply["ts"]) > float(first["ts"])

    updated = client.chat_update(channel="C1", ts=first["ts"], text="Pipeline (updated)", blocks=[])
    assert updated["ts"] == first["ts"]
    assert fake_slack.posted("C1", first["ts"])["text"] == "Pipeline (updated)"
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"

    eph = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert eph["message_ts"]
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C1")
    assert err.value.response["error"] == "no_text"

    msgs = fake_slack.messages()
    assert [(m.kind, m.channel, m.text) for m in msgs] == [
        ("message", "C1", "Pipeline"),
        ("message", "C1", "in thread"),
        ("update", "C1", "Pipeline (updated)"),
        ("ephemeral", "C1", "only you"),
    ]
    assert msgs[0].blocks == blocks and msgs[1].thread_ts == first["ts"] and msgs[3].user == "U1"
    assert msgs[0].call.content_type.startswith("application/json")  # slack-sdk sends chat.* as JSON
    assert fake_slack.messages(kind="ephemeral") == [msgs[3]]


def test_blocks_sent_form_encoded_are_decoded(fake_slack, client):
    blocks = [{"type": "divider"}]
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)})
    assert fake_slack.messages()[0].blocks == blocks


def test_conversations_open_gives_a_dm_channel(fake_slack, client):
    fake_slack.add_user("U1", "dana@example.com", "Dana Reyes")
    fake_slack.add_user("U9", "old@example.com", "Old Timer", deleted=True)
    channel = client.conversations_open(users=["U1"])["channel"]["id"]
    assert channel == "DU1"
    client.chat_postMessage(channel=channel, text="your digest")
    # posting to a user id lands in the same DM, as in Slack
    assert client.chat_postMessage(channel="U1", text="again")["channel"] == "DU1"
    assert [m.text for m in fake_slack.messages(channel="DU1")] == ["your digest", "again"]
    with pytest.raises(SlackApiError) as err:
        client.conversations_open(users="U9")
    assert err.value.response["error"] == "user_disabled"


def test_views_publish_open_update(fake_slack, client):
    fake_slack.add_user("U1", "dana@example.com", "Dana Reyes")
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
    published = client.views_publish(user_id="U1", view=home)["view"]
    assert published["id"].startswith("V") and fake_slack.home_view("U1")["blocks"] == home["blocks"]
    republished = client.views_publish(user_id="U1", view=home)["view"]
    assert republished["id"] == published["id"]  # one Home tab per user

    modal = {
        "type": "modal",
        "callback_id": "snooze",
        "title": {"type": "plain_text", "text": "Snooze deal"},
        "submit": {"type": "plain_text", "text": "Snooze"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    opened = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    assert opened["callback_id"] == "snooze"
    updated = client.views_update(view_id=opened["id"], view={**modal, "private_metadata": "deal=7"})["view"]
    assert updated["private_metadata"] == "deal=7"
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="1.2.abc", view={**modal, "title": {"type": "plain_text", "text": "x" * 25}})
    assert err.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in err.value.response["response_metadata"]["messages"][0]
    assert set(fake_slack.views()) == {published["id"], opened["id"]}


def test_files_upload_v2_png(fake_slack, client):
    png = tiny_png()
    parent = client.chat_postMessage(channel="C7", text="chart below")
    result = client.files_upload_v2(
        channel="C7",
        file=png,
        filename="pipeline.png",
        title="Pipeline by stage",
        initial_comment="Pipeline, Q3",
        thread_ts=parent["ts"],
    )
    assert result["file"]["mimetype"] == "image/png" and result["file"]["size"] == len(png)

    [upload] = fake_slack.uploads()
    assert upload.is_png and upload.data == png and upload.length == len(png)
    assert upload.completed and upload.filename == "pipeline.png" and upload.title == "Pipeline by stage"
    complete = fake_slack.last("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C7"
    assert complete.params["initial_comment"] == "Pipeline, Q3"
    assert complete.params["thread_ts"] == parent["ts"]
    assert complete.params["files"] == [{"id": upload.file_id, "title": "Pipeline by stage"}]
    assert [c.method for c in fake_slack.calls()] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


# ---------------------------------------------------------------- failure injection and slack-sdk retries


def test_rate_limit_retried_after_retry_after(fake_slack):
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, retry_handlers=[RateLimitErrorRetryHandler(1)])
    fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="digest")["ok"]
    assert time.monotonic() - started >= 1.0

    attempts = fake_slack.attempts("chat.postMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[0].injected == "http 429" and attempts[1].time - attempts[0].time >= 1.0
    assert len(fake_slack.calls("chat.postMessage")) == 1 and len(fake_slack.messages()) == 1


def test_rate_limit_without_handler_surfaces_retry_after(fake_slack, client):
    fake_slack.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert fake_slack.messages() == [] and fake_slack.calls() == []
    assert client.chat_postMessage(channel="C1", text="x")["ok"]  # times=1: the next one goes through


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_retried(fake_slack, status):
    handler = ServerErrorRetryHandler(max_retry_count=2, interval_calculator=FAST)
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, retry_handlers=[handler])
    fake_slack.fail("chat.postMessage", status=status, times=2)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [a.status for a in fake_slack.attempts("chat.postMessage")] == [status, status, 200]
    assert len(fake_slack.calls("chat.postMessage")) == 1 and len(fake_slack.messages()) == 1


def test_connection_reset_retried(fake_slack):
    handler = ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=FAST)
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, retry_handlers=[handler])
    fake_slack.fail("chat.postMessage", disconnect=True)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [a.injected for a in fake_slack.attempts()] == ["disconnect", None]
    assert len(fake_slack.messages()) == 1


def test_read_timeout_is_not_retried_and_the_message_was_delivered(fake_slack):
    """The trap: a late answer raises a bare TimeoutError, which ConnectionErrorRetryHandler does not retry,
    yet Slack did post the message. Retrying it blindly would post it twice."""
    handler = ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=FAST)
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, timeout=0.3, retry_handlers=[handler])
    fake_slack.fail("chat.postMessage", delay=1.0)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="nudge")
    assert len(fake_slack.attempts("chat.postMessage")) == 1
    assert [m.text for m in fake_slack.messages()] == ["nudge"]


def test_retry_handlers_share_one_attempt_counter(fake_slack):
    """slack-sdk counts attempts per request across all handlers: after one 429 retry, a ServerErrorRetryHandler
    with max_retry_count=1 no longer retries."""
    handlers = [RateLimitErrorRetryHandler(1), ServerErrorRetryHandler(1, interval_calculator=FAST)]
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url, retry_handlers=handlers)
    fake_slack.fail("chat.postMessage", status=429, retry_after=0)
    fake_slack.fail("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 500
    assert [a.status for a in fake_slack.attempts()] == [429, 500]


def test_injected_slack_error(fake_slack, client):
    fake_slack.fail("chat.postMessage", error="not_in_channel", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert len(fake_slack.attempts()) == 3 and len(fake_slack.calls()) == 1


def test_required_tokens():
    with FakeSlack(tokens=[TOKEN]) as fake:
        assert WebClient(token=TOKEN, base_url=fake.api_url).auth_test()["ok"]
        with pytest.raises(SlackApiError) as err:
            WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
        assert err.value.response["error"] == "invalid_auth"
        with pytest.raises(SlackApiError) as err:
            WebClient(base_url=fake.api_url).auth_test()
        assert err.value.response["error"] == "not_authed"


def test_custom_method_and_unknown_method(fake_slack, client):
    fake_slack.on("conversations.info", lambda params, call: {"channel": {"id": params["channel"], "is_im": False}})
    assert client.conversations_info(channel="C5")["channel"]["id"] == "C5"
    with pytest.raises(SlackApiError) as err:
        client.api_call("pins.add", params={"channel": "C5"})
    assert err.value.response["error"] == "unknown_method"


# ---------------------------------------------------------------- Block Kit limits


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_block_kit_limits_enforced(fake_slack, client):
    at_limits = [section("x" * 3000), {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]
    at_limits += [{"type": "divider"}] * 48
    assert client.chat_postMessage(channel="C1", text="ok", blocks=at_limits)["ok"]

    too_much = [
        [section("x")] * 51,
        [section("x" * 3001)],
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        [section("")],
        [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}]}],
        [{"type": "bogus"}],
    ]
    for blocks in too_much:
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="t", blocks=blocks)
        assert err.value.response["error"] == "invalid_blocks"
        assert "json-pointer:/blocks" in err.value.response["response_metadata"]["messages"][0]
    assert len(fake_slack.messages()) == 1

    with FakeSlack(validate_blocks=False) as lenient:
        loose = WebClient(token=TOKEN, base_url=lenient.api_url)
        assert loose.chat_postMessage(channel="C1", text="t", blocks=[section("x")] * 51)["ok"]


# ---------------------------------------------------------------- response_url, waiting, reset


def test_response_url_posts_recorded(fake_slack):
    url = fake_slack.response_url("cmd-1")
    webhook = WebhookClient(url)
    resp = webhook.send(text="Your pipeline", response_type="ephemeral", blocks=[section("$1.2M")])
    assert (resp.status_code, resp.body) == (200, "ok")
    assert webhook.send(text="Updated", replace_original=True).status_code == 200

    first, second = fake_slack.messages(kind="response_url")
    assert (first.url_name, first.text, first.response_type, first.blocks) == (
        "cmd-1",
        "Your pipeline",
        "ephemeral",
        [section("$1.2M")],
    )
    assert second.replace_original is True
    assert fake_slack.calls("response_url")[0].params["response_type"] == "ephemeral"
    assert webhook.send(text="bad", blocks=[section("x" * 3001)]).status_code == 400

    # a failing response_url does not raise: WebhookClient (and so bolt's respond()) returns the status
    fake_slack.fail("response_url", status=500)
    assert webhook.send(text="boom").status_code == 500
    assert fake_slack.attempts("response_url")[-1].injected == "http 500"

    limited = WebhookClient(fake_slack.response_url("cmd-2", max_uses=1))
    assert limited.send(text="one").status_code == 200
    assert (limited.send(text="two").status_code, fake_slack.last("response_url").response) == (404, "used_url")


def test_wait_for_async_reply_and_timeout(fake_slack, client):
    timer = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C1", text="later"))
    timer.start()
    try:
        [call] = fake_slack.wait_for("chat.postMessage", timeout=5)
        assert call.params["text"] == "later"
        assert fake_slack.wait_for(lambda c: c.params.get("text") == "later")[0] is call
        assert fake_slack.wait_for_messages(channel="C1")[0].text == "later"
    finally:
        timer.join()
    with pytest.raises(FakeSlackError, match=r"chat.update.*got 0.*chat.postMessage"):
        fake_slack.wait_for("chat.update", timeout=0.1)


def test_reset_keeps_users(fake_slack, client):
    fake_slack.add_user("U1", "dana@example.com", "Dana Reyes")
    client.chat_postMessage(channel="C1", text="x")
    fake_slack.fail("users.info", status=500)
    fake_slack.reset()
    assert fake_slack.calls() == fake_slack.attempts() == fake_slack.messages() == []
    assert client.users_info(user="U1")["ok"]  # the pending failure went too


# ---------------------------------------------------------------- signing


def test_sign_matches_slack_sdk_verifier():
    body = b"token=x&text=pipeline+q3"
    now = int(time.time())
    headers = sign(SECRET, body, now)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign(SECRET, body, stale_timestamp())
    assert not verifier.is_valid_request(body, stale)


# ---------------------------------------------------------------- a real bolt App in HTTP mode


@pytest.fixture
def bolt_app(fake_slack):
    """A bolt App wired to the fake, served over HTTP on an ephemeral port; yields (served, app)."""
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bolt-listener")
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=fake_slack.api_url),  # the token goes in the client, not App(token=)
        listener_executor=executor,
    )

    @app.command("/sales")
    def sales(ack, command, respond):
        ack()
        time.sleep(0.2)  # slow work after the ack
        respond(text=f"You asked: {command['text']}", response_type="ephemeral")

    @app.action("snooze_7d")
    def snooze(ack, body, respond):
        ack()
        respond(text=f"Snoozed deal {body['actions'][0]['value']}", replace_original=True)

    @app.view("snooze_modal")
    def snooze_modal(ack, view):
        reason = view["state"]["values"]["reason"]["value"]["value"]
        if not reason:
            ack(response_action="errors", errors={"reason": "Say why"})
        else:
            ack()

    @app.event("app_mention")
    def mention(event, say):
        say(text=f"Hi <@{event['user']}>", thread_ts=event["ts"])

    @app.event("app_home_opened")
    def home(event, client):
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [section("Home")]})

    with serve_bolt(app) as served:
        yield served, app
    executor.shutdown(wait=True)


def test_bolt_slash_command_acks_then_responds(fake_slack, bolt_app):
    served, _ = bolt_app
    assert fake_slack.calls("auth.test")  # bolt checks the token at start-up
    url = fake_slack.response_url("sales-1", channel="C1")
    reply = post_slash_command(served.url, SECRET, "pipeline q3", "U1", response_url=url)
    acked_at = time.time()
    assert reply.status == 200 and reply.body == ""
    [call] = fake_slack.wait_for("response_url")
    assert call.time >= acked_at  # the answer came after the ack
    [msg] = fake_slack.messages(kind="response_url")
    assert (msg.text, msg.response_type, msg.url_name) == ("You asked: pipeline q3", "ephemeral", "sales-1")
    assert msg.channel == "C1"


def test_bolt_refuses_forged_unsigned_and_stale(fake_slack, bolt_app):
    served, _ = bolt_app
    url = fake_slack.response_url("sales-2")
    args = (served.url, SECRET, "pipeline", "U1")
    forged = [
        post_slash_command(served.url, "wrong-secret", "pipeline", "U1", response_url=url),
        post_slash_command(*args, response_url=url, signed=False),
        post_slash_command(*args, response_url=url, timestamp=stale_timestamp()),
        post_slash_command(*args, response_url=url, timestamp=int(time.time()) + 6 * 60),
        post_slash_command(*args, response_url=url, headers={"X-Slack-Signature": "v0=" + "0" * 64}),
    ]
    assert [r.status for r in forged] == [401] * 5
    assert forged[0].json() == {"error": "invalid request"}
    time.sleep(0.4)  # long enough for a listener that wrongly ran to respond
    assert fake_slack.calls("response_url") == []


def test_bolt_block_action_view_submission_and_events(fake_slack, bolt_app):
    served, _ = bolt_app
    fake_slack.add_user("U1", "dana@example.com", "Dana Reyes")

    url = fake_slack.response_url("action-1")
    posted = WebClient(token=TOKEN, base_url=fake_slack.api_url).chat_postMessage(channel="DU1", text="stalled")
    reply = post_block_action(
        served.url, SECRET, "U1", "snooze_7d", "deal-42", response_url=url, message=posted["message"], channel_id="DU1"
    )
    assert reply.status == 200
    fake_slack.wait_for("response_url")
    msg = fake_slack.messages(kind="response_url")[0]
    assert (msg.text, msg.replace_original) == ("Snoozed deal deal-42", True)

    values = {"reason": {"value": input_value("")}}
    reply = post_view_submission(served.url, SECRET, "U1", "snooze_modal", values)
    assert reply.status == 200 and reply.json() == {"response_action": "errors", "errors": {"reason": "Say why"}}
    values = {"reason": {"value": input_value("waiting on legal")}}
    assert post_view_submission(served.url, SECRET, "U1", "snooze_modal", values).body == ""

    event = app_mention("U1", "how am I tracking?", channel="C9")
    assert post_event(served.url, SECRET, event).status == 200
    [said] = fake_slack.wait_for_messages(channel="C9")
    assert (said.text, said.thread_ts) == ("Hi <@U1>", event["ts"])

    assert post_event(served.url, SECRET, app_home_opened("U1")).status == 200
    fake_slack.wait_for("views.publish")
    assert fake_slack.home_view("U1")["blocks"] == [section("Home")]

    challenge = post_url_verification(served.url, SECRET, "abc")
    assert challenge.json() == {"challenge": "abc"}


def test_bolt_does_not_dedupe_redelivered_events(fake_slack, bolt_app):
    """Slack redelivers an event (same event_id, X-Slack-Retry-Num) when the ack is late; bolt runs the listener
    again, so the bot has to dedupe by event_id itself (or ignore retries)."""
    served, _ = bolt_app
    event = app_mention("U1", "pipeline", channel="C3")
    assert post_event(served.url, SECRET, event, event_id="Ev1").status == 200
    assert post_event(served.url, SECRET, event, event_id="Ev1", retry_num=1).status == 200
    assert len(fake_slack.wait_for_messages(2, channel="C3")) == 2


def test_post_signed_unknown_path_is_404(bolt_app):
    served, _ = bolt_app
    assert post_signed(served.base_url + "/nope", SECRET, b"{}", "application/json").status == 404


def test_everything_shuts_down():
    before = {t.ident for t in threading.enumerate()}
    with FakeSlack() as fake:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        executor = ThreadPoolExecutor(max_workers=2)
        app = App(signing_secret=SECRET, client=client, listener_executor=executor)

        @app.command("/sales")
        def sales(ack, respond):
            ack()
            respond("done")

        with serve_bolt(app) as served:
            post_slash_command(served.url, SECRET, "help", "U1", response_url=fake.response_url())
            fake.wait_for("response_url")
        executor.shutdown(wait=True)
        fake.fail("chat.postMessage", delay=30)  # a pending delay must not hold up stop()
        thread = threading.Thread(target=lambda: _swallow(client.chat_postMessage, channel="C1", text="x"))
        thread.start()
        fake.wait_for("chat.postMessage")
        started = time.monotonic()
    assert time.monotonic() - started < 2
    thread.join(5)
    leftover = [t for t in threading.enumerate() if t.ident not in before]
    assert leftover == []


def _swallow(fn, **kwargs) -> None:
    with contextlib.suppress(Exception):  # the client may see the server go away
        fn(**kwargs)
