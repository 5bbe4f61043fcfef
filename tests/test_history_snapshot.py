"""The history snapshot behind stage conversion and the close_date_pushed rule: answers with it equal answers
from history alone, whatever happened since it was taken (new history, new deals, deleted deals, a changed stage
list)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

import bot
from config import Settings
from db.schema import (
    bot_settings,
    bot_stage_entries,
    opportunities,
    opportunity_history,
    reps,
    stages,
)
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.history_snapshot import (
    FULL_REBUILD_AFTER,
    SNAPSHOT_AFTER_LOAD,
    SNAPSHOT_KEY,
    read_state,
    refresh_history_snapshot,
    usable_watermark,
)
from metrics.periods import Period
from metrics.scopes import Scope
from tests.test_metrics_properties import STAGE, TODAY, expected_conversion

BASE = datetime(2026, 7, 1, tzinfo=UTC)
PERIOD = Period(date(2026, 8, 1), date(2026, 9, 30), "Aug–Sep", None)
T_START, T_END = 31 * 10, 92 * 10  # the period in expected_conversion's t units (day * 10 + step)
ORG = Scope("org", "org")


def clear(db) -> dict[str, int]:
    with db.engine.begin() as conn:
        for table in (bot_stage_entries, opportunity_history, opportunities, reps):
            conn.execute(delete(table))
        conn.execute(delete(bot_settings).where(bot_settings.c.key == SNAPSHOT_KEY))
        return {name: conn.execute(insert(reps).returning(reps.c.id),
                                   {"external_id": name, "name": name, "role": "rep"}).scalar_one()
                for name in ("Ann", "Bob")}


def add_history(conn, opp: int, steps, first_index: int = 0) -> None:
    """History rows at day*10+i minutes-in-order, as expected_conversion's t = day * 10 + i."""
    for i, (stage, day) in enumerate(steps, start=first_index):
        conn.execute(insert(opportunity_history), {"opportunity_id": opp, "stage": stage,
                                                   "changed_at": BASE + timedelta(days=day, minutes=i)})


def add_deal(conn, owner: int, name: str, steps) -> int:
    opp = conn.execute(insert(opportunities).returning(opportunities.c.id),
                       {"external_id": name, "name": name, "owner_id": owner, "stage": steps[-1][0]}).scalar_one()
    add_history(conn, opp, steps)
    return opp


def conversion(conn, scope: Scope = ORG) -> dict:
    rows = evaluate(conn, "conversion", PERIOD, scope, today=TODAY, cache=ResultCache(0)).rows
    return {r["stage"]: (r["entered"], r["advanced"]) for r in rows}


def expected(histories: dict) -> dict:
    """expected_conversion over the deals' full step lists (each already in time order)."""
    return expected_conversion(list(histories.values()), T_START, T_END)


steps = st.lists(st.tuples(st.sampled_from(list(STAGE)), st.integers(0, 200)), min_size=1, max_size=5).map(
    lambda xs: sorted(xs, key=lambda x: x[1]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(st.tuples(st.sampled_from(["Ann", "Bob"]), steps), max_size=10),
       later=st.lists(st.tuples(st.integers(0, 30), steps), max_size=6),
       new=st.lists(st.tuples(st.sampled_from(["Ann", "Bob"]), steps), max_size=4),
       drop=st.sets(st.integers(0, 30), max_size=2))
def test_conversion_with_a_snapshot_equals_history_alone(db, before, later, new, drop):
    """Snapshot, then more history on old deals, new deals and deleted deals: the answer equals a pandas walk
    over the rows as they are now, before and after the next (incremental) refresh, org-wide and for a rep."""
    owners = clear(db)
    histories: dict[int, list] = {}
    owner_of: dict[int, str] = {}
    with db.engine.begin() as conn:
        for i, (owner, s) in enumerate(before):
            opp = add_deal(conn, owners[owner], f"b{i}", s)
            histories[opp], owner_of[opp] = list(s), owner
        first = refresh_history_snapshot(conn)
    assert first["mode"] == "full"
    ids = sorted(histories)
    with db.engine.begin() as conn:
        for index, extra in later:
            if ids:
                opp = ids[index % len(ids)]
                last_day = histories[opp][-1][1]
                shifted = [(stage, last_day + day) for stage, day in extra]
                add_history(conn, opp, shifted, first_index=len(histories[opp]))
                histories[opp] += shifted
        for i, (owner, s) in enumerate(new):
            opp = add_deal(conn, owners[owner], f"n{i}", s)
            histories[opp], owner_of[opp] = list(s), owner
        for index in drop:
            if ids:
                gone = ids[index % len(ids)]
                conn.execute(delete(opportunities).where(opportunities.c.id == gone))
                histories.pop(gone, None)
    ann = Scope("rep", "Ann", rep_id=owners["Ann"])
    want_org = expected(histories)
    want_ann = expected({k: v for k, v in histories.items() if owner_of[k] == "Ann"})
    for _ in ("before the next refresh", "after it"):
        with db.engine.connect() as conn:
            assert conversion(conn) == want_org
            assert conversion(conn, ann) == want_ann
        with db.engine.begin() as conn:
            refresh_history_snapshot(conn)


def test_refresh_modes_and_what_they_write(db):
    owners = clear(db)
    now = datetime(2026, 9, 1, 12, tzinfo=UTC)
    with db.engine.begin() as conn:
        a = add_deal(conn, owners["Ann"], "a", [("Prospecting", 40), ("Qualification", 50)])
        add_deal(conn, owners["Bob"], "b", [("Prospecting", 45)])
        done = refresh_history_snapshot(conn, now=now)
        assert done == {"mode": "full", "deals": None, "entries": 3, "pushes": 0, "spans": 3,
                        "through": conn.execute(select(func.max(opportunity_history.c.id))).scalar_one()}
        assert refresh_history_snapshot(conn, now=now)["mode"] == "current"
        add_history(conn, a, [("Proposal", 60)], first_index=2)
        done = refresh_history_snapshot(conn, now=now + timedelta(minutes=15))
        assert (done["mode"], done["deals"], done["entries"], done["spans"]) == ("incremental", 1, 4, 4)
        rows = conn.execute(select(bot_stage_entries.c.stage, bot_stage_entries.c.advanced)
                            .where(bot_stage_entries.c.opportunity_id == a)).all()
        assert sorted((r.stage, bool(r.advanced)) for r in rows) == [
            ("Proposal", False), ("Prospecting", True), ("Qualification", True)]
        assert refresh_history_snapshot(conn, now=now + FULL_REBUILD_AFTER)["mode"] == "full"
        assert refresh_history_snapshot(conn, now=now + FULL_REBUILD_AFTER, full=True)["mode"] == "full"


def test_a_changed_stage_list_sets_the_snapshot_aside(db):
    """Swapping two stages' order changes who "advanced": the old snapshot must not be read."""
    owners = clear(db)
    with db.engine.begin() as conn:
        add_deal(conn, owners["Ann"], "a", [("Qualification", 40), ("Proposal", 50)])
        refresh_history_snapshot(conn)
        assert usable_watermark(conn) is not None
        assert conversion(conn)["Qualification"] == (1, 1)
        conn.execute(update(stages).where(stages.c.name == "Qualification").values(position=30))
        assert usable_watermark(conn) is None
        assert conversion(conn)["Qualification"] == (1, 0)  # now after Proposal: it did not move on
        assert refresh_history_snapshot(conn)["mode"] == "full"
        assert usable_watermark(conn) is not None
        assert conversion(conn)["Qualification"] == (1, 0)


def test_a_snapshot_that_no_longer_matches_the_data_is_not_read(db):
    """Deleting the deal holding the watermark row, or emptying the sales tables under the snapshot, sets it
    aside until the next refresh; the answers stay right throughout."""
    owners = clear(db)
    with db.engine.begin() as conn:
        add_deal(conn, owners["Ann"], "a", [("Prospecting", 40), ("Qualification", 50)])
        b = add_deal(conn, owners["Bob"], "b", [("Prospecting", 45), ("Proposal", 70)])
        refresh_history_snapshot(conn)
        assert usable_watermark(conn) is not None
        conn.execute(delete(opportunities).where(opportunities.c.id == b))  # holds the newest history row
        assert usable_watermark(conn) is None
        assert conversion(conn) == {"Prospecting": (1, 1), "Qualification": (1, 0)}
        assert refresh_history_snapshot(conn)["mode"] == "full"
        assert usable_watermark(conn) is not None
        conn.execute(delete(bot_stage_entries))  # as a TRUNCATE … CASCADE of the sales tables would
        assert usable_watermark(conn) is None
        assert conversion(conn) == {"Prospecting": (1, 1), "Qualification": (1, 0)}


def test_the_snapshot_job_and_the_db_snapshot_command(db, monkeypatch, capsys):
    from scheduler.snapshots import refresh_snapshots

    monkeypatch.setenv("DATABASE_URL", db.url)
    owners = clear(db)
    with db.engine.begin() as conn:
        add_deal(conn, owners["Ann"], "a", [("Prospecting", 40), ("Qualification", 50)])

    class Ctx:
        engine = db.engine

    assert refresh_snapshots(Ctx(), datetime.now(UTC))["mode"] == "full"
    assert refresh_snapshots(Ctx(), datetime.now(UTC))["mode"] == "current"
    assert bot.main(["db", "snapshot"]) == 0
    assert "history snapshot rebuilt: 2 stage entries, 0 close-date pushes" in capsys.readouterr().out
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(bot_stage_entries)).scalar_one() == 2


@pytest.mark.parametrize("deals", [400])
def test_the_demo_org_comes_with_a_current_snapshot(db, deals):
    """build_demo takes the snapshot, and conversion read through it equals a pandas walk over the demo's own
    history rows."""
    from db.demo import build_demo

    build_demo(db.engine, seed=7, reps=12, deals=deals, today=TODAY, after_load=SNAPSHOT_AFTER_LOAD)
    with db.engine.connect() as conn:
        assert usable_watermark(conn) is not None
        got = conversion(conn)
        hist = pd.DataFrame(conn.execute(
            select(opportunity_history.c.opportunity_id, opportunity_history.c.id,
                   opportunity_history.c.changed_at, opportunity_history.c.stage)
            .where(opportunity_history.c.stage.is_not(None))).all(),
            columns=["deal", "id", "changed_at", "stage"])
    hist["changed_at"] = pd.to_datetime(hist["changed_at"], utc=True)
    hist = hist.sort_values(["deal", "changed_at", "id"])
    start = pd.Timestamp(PERIOD.start, tz="UTC")
    end = pd.Timestamp(PERIOD.end + timedelta(days=1), tz="UTC")
    want: dict = {}
    for (_deal, stage), g in hist.groupby(["deal", "stage"]):
        info = STAGE[stage]
        first = g.iloc[0]
        if info["is_closed"] or not (start <= first["changed_at"] < end):
            continue
        later = hist[(hist["deal"] == first["deal"])
                     & ((hist["changed_at"] > first["changed_at"])
                        | ((hist["changed_at"] == first["changed_at"]) & (hist["id"] >= first["id"])))]
        moved = any(STAGE[s]["position"] > info["position"] and not (STAGE[s]["is_closed"] and not STAGE[s]["is_won"])
                    for s in later["stage"])
        entered, advanced = want.get(stage, (0, 0))
        want[stage] = (entered + 1, advanced + int(moved))
    assert got == want and sum(e for e, _ in want.values()) > 0


NOW = datetime(2026, 10, 1, tzinfo=UTC)  # the 90-day push window starts 2026-07-03 00:00 UTC
dated_steps = st.lists(st.tuples(st.integers(0, 120), st.integers(-20, 40)), min_size=1, max_size=6).map(
    lambda xs: sorted(xs, key=lambda x: x[0]))  # (day after BASE, close-date offset in days)


def add_dated(conn, opp: int, steps, first_index: int = 0) -> None:
    for i, (day, offset) in enumerate(steps, start=first_index):
        conn.execute(insert(opportunity_history), {
            "opportunity_id": opp, "stage": "Prospecting", "changed_at": BASE + timedelta(days=day, minutes=i),
            "close_date": date(2026, 12, 1) + timedelta(days=offset)})


def expected_pushes(histories: dict[int, list]) -> dict[int, tuple[int, date, date]]:
    """{deal: (pushes, first from, last to)} for deals with 2+ pushes whose row is in the window, by pandas."""
    rows = [{"deal": k, "t": BASE + timedelta(days=day, minutes=i), "close": date(2026, 12, 1) + timedelta(days=off)}
            for k, steps in histories.items() for i, (day, off) in enumerate(steps)]
    df = pd.DataFrame(rows, columns=["deal", "t", "close"]).sort_values(["deal", "t"])
    df["prev"] = df.groupby("deal")["close"].shift()
    pushed = df[df["prev"].notna() & (df["close"] > df["prev"]) & (df["t"] >= NOW - timedelta(days=90))]
    out = {}
    for deal_id, g in pushed.groupby("deal"):
        if len(g) >= 2:
            out[int(deal_id)] = (len(g), g["prev"].min(), g["close"].max())
    return out


def pushed_now(conn, **kw) -> dict[int, tuple[int, date, date]]:
    from metrics.stalled import _close_date_pushed_query

    rows = conn.execute(_close_date_pushed_query(conn.dialect.name, today=NOW.date(), now=NOW,
                                                 settings=Settings(), **kw)).all()
    return {r.id: (r.pushes, r.first_from, r.last_to) for r in rows}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(dated_steps, max_size=8), later=st.lists(st.tuples(st.integers(0, 20), dated_steps),
                                                                 max_size=5))
def test_pushed_close_dates_with_a_snapshot_equal_history_alone(db, before, later):
    """The close_date_pushed rule read through the snapshot, with more dated history added after it, equals a
    pandas walk over all the rows, before and after the next refresh; so does the rule without a snapshot."""
    owners = clear(db)
    histories: dict[int, list] = {}
    with db.engine.begin() as conn:
        for i, steps in enumerate(before):
            opp = conn.execute(insert(opportunities).returning(opportunities.c.id),
                               {"external_id": f"p{i}", "name": f"p{i}", "owner_id": owners["Ann"],
                                "stage": "Prospecting"}).scalar_one()
            add_dated(conn, opp, steps)
            histories[opp] = list(steps)
        refresh_history_snapshot(conn)
        ids = sorted(histories)
        for index, steps in later:
            if ids:
                opp = ids[index % len(ids)]
                shifted = [(histories[opp][-1][0] + day, off) for day, off in steps]
                add_dated(conn, opp, shifted, first_index=len(histories[opp]))
                histories[opp] += shifted
    want = expected_pushes(histories)
    for _ in ("before the next refresh", "after it"):
        with db.engine.connect() as conn:
            watermark = usable_watermark(conn)
            assert (watermark is not None) == bool(before)  # nothing to snapshot without history
            assert pushed_now(conn, watermark=watermark) == want
            assert pushed_now(conn, watermark=None) == want
            assert pushed_now(conn, watermark=watermark, owner_ids=[owners["Bob"]]) == {}
        with db.engine.begin() as conn:
            refresh_history_snapshot(conn)


def test_the_snapshot_holds_the_won_deal_benchmarks(db):
    """The refresh stores the stuck_in_stage benchmarks; the rules read them from there (a stale value planted
    in the state shows through, which proves it is read), and a state from before benchmarks still works."""
    import json

    from metrics.stage_benchmarks import won_stage_percentiles
    from metrics.stalled import stalled_deals
    from tests.factories import Factory, at

    clear(db)
    f = Factory(db.engine)
    rep = f.rep("Cy Rep")
    for _ in range(20):  # 20 won deals that spent 10 days in Proposal: the 75th percentile is 10
        won = f.deal(rep, "Closed Won", 100, date(2026, 8, 1), history=False)
        f.history(won, at(date(2026, 6, 1)), stage="Proposal")
        f.history(won, at(date(2026, 6, 11)), stage="Closed Won")
    stuck = f.deal(rep, "Proposal", 100, date(2026, 12, 1), created=date(2026, 8, 1), history=False,
                   stage_entered_at=at(date(2026, 9, 20)), last_activity_at=at(TODAY))
    settings_ = Settings()
    with db.engine.begin() as conn:
        refresh_history_snapshot(conn)
        state = read_state(conn)
        assert state.benchmarks == won_stage_percentiles(conn) and state.benchmarks["Proposal"] == (10.0, 20)
        found = stalled_deals(conn, today=TODAY, settings=settings_, rules=["stuck_in_stage"])
        assert [x.record_id for x in found] == [stuck]  # 66 days in Proposal > 10
        raw = json.loads(state.to_json())
        raw["benchmarks"]["Proposal"] = [100.0, 20]
        conn.execute(update(bot_settings).where(bot_settings.c.key == SNAPSHOT_KEY).values(value=json.dumps(raw)))
        assert stalled_deals(conn, today=TODAY, settings=settings_, rules=["stuck_in_stage"]) == []
        del raw["benchmarks"]
        conn.execute(update(bot_settings).where(bot_settings.c.key == SNAPSHOT_KEY).values(value=json.dumps(raw)))
        assert read_state(conn).benchmarks is None
        assert [x.record_id for x in stalled_deals(conn, today=TODAY, settings=settings_,
                                                   rules=["stuck_in_stage"])] == [stuck]
