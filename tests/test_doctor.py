"""`python bot.py doctor` against the fake Slack on the small org: one line per check, ✓ or ✗ with the fix, a
non-zero exit when anything is ✗; `run` refuses to start on a fatal one with the same sentence. With CRM
credentials, against the fake Salesforce and HubSpot: signed in, every mapped object readable, or what is wrong
and its fix; both CRMs set is the one clear error."""

from __future__ import annotations

import pytest
from sqlalchemy import update

import bot as bot_cli
from db.schema import reps
from tests.fakecrm.hubspot import FakeHubSpot
from tests.fakecrm.salesforce import FakeSalesforce
from tests.fakeslack.server import SCOPES
from tests.orgs import build_small_org
from tests.slackbot import SECRET, TOKEN, USERS
from tests.test_signatures import free_port

OPS = "C0OPS"


@pytest.fixture
def workspace(db, fake_slack, monkeypatch):
    """The small org, every person in the fake Slack (Cat too), the ops channel with the bot in it."""
    build_small_org(db.engine)
    for user_id, (email, name, tz) in {**USERS, "UCAT": ("cat.rep@example.com", "Cat Rep", "UTC")}.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    fake_slack.add_channel(OPS, "sales-ops")
    env = {"DATABASE_URL": db.url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "",
           "SLACK_API_URL": fake_slack.api_url, "OPS_CHANNEL": OPS, "HUBSPOT_ACCESS_TOKEN": "",
           "SALESFORCE_ACCESS_TOKEN": "", "SALESFORCE_CLIENT_ID": "", "PORT": str(free_port())}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return fake_slack


def doctor(capsys) -> tuple[int, list[str]]:
    code = bot_cli.main(["doctor"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "error:" not in err, err
    return code, out.splitlines()


def crossed(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("✗")]


def test_a_good_configuration_is_all_ticks(workspace, capsys):
    code, lines = doctor(capsys)
    assert crossed(lines) == [], lines
    assert code == 0
    checks = [line for line in lines if line.startswith("✓")]
    assert [c.split(":")[0] for c in checks] == [
        "✓ database", "✓ mode", "✓ Slack token", "✓ Slack scopes", "✓ OPS_CHANNEL", "✓ rep time zones",
        "✓ reps in Slack", "✓ settings"]
    assert "✓ OPS_CHANNEL: #sales-ops exists and the bot is in it." in lines
    assert lines[-1] == "All good."


def test_a_missing_scope_is_named(workspace, capsys):
    workspace.scopes = ",".join(s for s in SCOPES.split(",") if s != "users:read.email")
    code, lines = doctor(capsys)
    assert code == 1
    assert crossed(lines) == [
        "✗ Slack scopes: missing users:read.email; add them under OAuth & Permissions → Bot Token Scopes "
        "(manifest.yml lists them all) and reinstall the app."]


def test_a_wrong_channel_and_a_channel_without_the_bot_are_named(workspace, capsys, monkeypatch):
    monkeypatch.setenv("OPS_CHANNEL", "C0WRONG")
    code, lines = doctor(capsys)
    assert code == 1
    assert crossed(lines) == ["✗ OPS_CHANNEL: Slack cannot find C0WRONG (channel_not_found); check the ID in the "
                              "channel's details."]
    workspace.add_channel("C0QUIET", "quiet-room", is_member=False)
    monkeypatch.setenv("OPS_CHANNEL", "C0QUIET")
    code, lines = doctor(capsys)
    assert code == 1
    assert crossed(lines) == ["✗ OPS_CHANNEL: the bot is not in #quiet-room; invite it there with "
                              "`/invite @salesbot`."]


def test_a_bad_time_zone_and_a_rep_missing_from_slack_are_named(workspace, db, capsys):
    with db.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.name == "Bob Rep").values(timezone="Mars/Olympus_Mons"))
    del workspace.users["UCAT"]
    code, lines = doctor(capsys)
    assert code == 1
    assert crossed(lines) == [
        "✗ rep time zones: 1 not valid: Bob Rep ('Mars/Olympus_Mons'); use IANA names such as America/New_York "
        "in the reps' import (or CRM) and import again.",
        "✗ reps in Slack: 1 of 7 active reps have no Slack account with their email: Cat Rep; they get no digests "
        "or nudges until their CRM email matches their Slack profile."]


def test_run_refuses_to_start_on_a_fatal_problem_with_the_doctors_sentence(workspace, capsys):
    workspace.tokens = {"xoxb-the-real-one"}  # Slack refuses the configured token
    code, lines = doctor(capsys)
    assert code == 1
    (refused,) = crossed(lines)
    assert refused.startswith("✗ Slack token: refused by auth.test (invalid_auth)")
    code = bot_cli.main(["run"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [f"error: {refused.removeprefix('✗ ')}"]


# --- CRM credentials ----------------------------------------------------------------------------------------


def crm_doctor(fake, capsys, monkeypatch) -> tuple[int, list[str]]:
    """`doctor` with the fake CRM's credentials set: its exit status and its CRM lines."""
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    code, lines = doctor(capsys)
    return code, [line for line in lines if line[2:].startswith("CRM")]


def test_salesforce_credentials_a_bad_secret_and_an_object_out_of_sight_are_named(workspace, capsys, monkeypatch):
    with FakeSalesforce() as fake:
        assert crm_doctor(fake, capsys, monkeypatch) == (0, [
            "✓ CRM: Salesforce accepts the credentials.",
            "✓ CRM objects: Salesforce lets the bot read OpportunityStage, User, Account, Opportunity, "
            "OpportunityHistory, Task, Event; not in this org, so skipped: ForecastingQuota, DatedConversionRate."])
        assert fake.tokens_issued == 1

        monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "not-the-secret")
        code, lines = doctor(capsys)
        assert code == 1 and crossed(lines) == [
            "✗ CRM: Salesforce refused to sign in (400: invalid client credentials); check SALESFORCE_CLIENT_ID and "
            "SALESFORCE_CLIENT_SECRET (the connected app's consumer key and secret) and that its Client Credentials "
            "Flow is enabled with a Run As user."]

        monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", fake.client_secret)
        del fake.fields["Opportunity"]  # the integration user's profile cannot see it: Salesforce says 404
        code, lines = doctor(capsys)
        assert code == 1 and crossed(lines) == [  # (ForecastingQuota's absence stays fine: quotas come from a CSV)
            "✗ CRM objects: the integration user cannot see Opportunity; give its profile (or a permission set) "
            "Read and View All on them."]


def test_hubspot_token_a_refused_token_and_a_missing_scope_are_named(workspace, capsys, monkeypatch):
    with FakeHubSpot() as fake:
        assert crm_doctor(fake, capsys, monkeypatch) == (0, [
            "✓ CRM: HubSpot accepts the credentials.",
            "✓ CRM objects: HubSpot lets the bot read pipelines, owners, companies, deals, deal_history, calls, "
            "emails, meetings, notes, tasks."])

        fake.fail("properties", 403, body={
            "status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
            "category": "MISSING_SCOPES",
            "errors": [{"message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": ["crm.objects.companies.read"]}}]})
        code, lines = doctor(capsys)
        assert code == 1 and crossed(lines) == [
            "✗ CRM objects: HubSpot's private app may not read the companies properties: give it the scope "
            "crm.objects.companies.read (README, \"Connecting your CRM\")."]

        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-revoked")
        code, lines = doctor(capsys)
        assert code == 1 and crossed(lines) == [
            "✗ CRM: HubSpot refused the access token (401); check HUBSPOT_ACCESS_TOKEN (the private app's token, "
            "Settings > Integrations > Private Apps)."]

        monkeypatch.setenv("SALESFORCE_CLIENT_ID", "cid")  # and Salesforce's too: which one is meant?
        assert bot_cli.main(["doctor"]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.strip() == (
            "error: Both Salesforce (SALESFORCE_*) and HubSpot (HUBSPOT_ACCESS_TOKEN) credentials are set; the bot "
            "syncs from one CRM, so unset the other.")
