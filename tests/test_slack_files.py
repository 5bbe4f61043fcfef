"""Files through the real bot and slack-sdk's files_upload_v2 to the fake Slack: the CSV of an answer's rows
(asked with `csv`, or with the CSV button) arrives in the asker's DM with its name and content; a chart of any
metric arrives as a 2× PNG."""

from __future__ import annotations

from tests.fakeslack import dm_message, post_block_action, post_event, post_slash_command
from tests.slackbot import SECRET

# Max's team (Ann; Bob under Mia) closed won in Q4 2026: Ann 3000, Bob 1000 + 2000 (tests/orgs.py)
MAX_BOOKINGS = b"owner,closed won\r\nAnn Rep,3000.00\r\nBob Rep,3000.00\r\n"


def test_csv_in_a_dm_arrives_in_that_dm(running_bot):
    bot = running_bot
    assert post_event(bot.url, SECRET, dm_message("UMAX", "bookings by owner this quarter csv")).status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()
    assert upload.completed and upload.filename == "closed-won-max-manager-s-team.csv"
    assert upload.data == MAX_BOOKINGS
    assert upload.channel_id == "DUMAX" and upload.thread_ts  # in the thread of the question


def test_csv_option_on_a_slash_command_goes_to_the_dm(running_bot):
    bot = running_bot
    status, _ = post_slash_command(bot.url, SECRET, "bookings by owner this quarter csv", "UMAX",
                                   response_url=bot.fake.response_url("c"), channel_id="C5")
    assert status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()
    assert (upload.channel_id, upload.data) == ("DUMAX", MAX_BOOKINGS)
    notes = bot.fake.wait_for_messages(2, kind="response_url", timeout=10)
    assert "I sent the CSV file to you in a direct message" in notes[-1].text


def test_csv_button_uploads_the_rows(running_bot):
    bot = running_bot
    status, _ = post_block_action(bot.url, SECRET, "UMAX", "sales_csv", value="bookings by owner this quarter csv",
                                  response_url=bot.fake.response_url("csv"), channel_id="C5", ephemeral=True)
    assert status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()  # the file only: no chart
    assert (upload.channel_id, upload.filename, upload.data) == ("DUMAX", "closed-won-max-manager-s-team.csv",
                                                                 MAX_BOOKINGS)


def test_chart_of_any_metric_is_a_2x_png(running_bot):
    bot = running_bot
    assert post_event(bot.url, SECRET, dm_message("UERIN", "win rate by owner this quarter chart")).status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()
    assert upload.is_png and upload.length <= 200 * 1024
    assert (int.from_bytes(upload.data[16:20], "big"), int.from_bytes(upload.data[20:24], "big")) == (1280, 720)
    assert upload.title == "Win rate by owner · the whole org · this quarter (Q4 FY2026)"
    assert upload.alt_txt == ("Win rate by owner · the whole org · this quarter (Q4 FY2026): "
                              "Bob Rep 100%, Cat Rep 100%, Ann Rep 50%")
