from datetime import date
from decimal import Decimal

from metrics.changes import changes_since, changes_summary
from metrics.periods import Period
from metrics.scopes import Scope
from tests.factories import Factory, at

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
SINCE = at(date(2026, 11, 20))
NOV1 = date(2026, 11, 1)


def build(db):
    f = Factory(db.engine)
    ann, bob = f.rep("Ann Rep"), f.rep("Bob Rep")

    def deal(owner, name, steps, created=NOV1):
        """steps: [(day, stage, amount, close_date)], the last one is the current state."""
        _, stage, amount, close = steps[-1]
        opp = f.deal(owner, stage, amount, close, created=created, name=name, history=False)
        for day, st, amt, cl in steps:
            f.history(opp, at(day), stage=st, amount=Decimal(amt), close_date=cl)
        return opp

    deal(ann, "advanced", [(NOV1, "Prospecting", 100, date(2026, 12, 10)),
                           (date(2026, 11, 22), "Proposal", 100, date(2026, 12, 10))])
    deal(ann, "slipped out", [(NOV1, "Proposal", 200, date(2026, 11, 30)),
                              (date(2026, 11, 23), "Proposal", 200, date(2027, 1, 15))])
    deal(ann, "won", [(NOV1, "Negotiation", 300, date(2026, 12, 1)),
                      (date(2026, 11, 24), "Closed Won", 300, date(2026, 11, 24))])
    deal(ann, "new", [(date(2026, 11, 22), "Prospecting", 50, date(2026, 12, 20))], created=date(2026, 11, 22))
    deal(bob, "bigger", [(NOV1, "Proposal", 400, date(2026, 12, 5)),
                         (date(2026, 11, 21), "Proposal", 500, date(2026, 12, 5))])
    deal(bob, "unchanged", [(NOV1, "Proposal", 1000, date(2026, 12, 5))])
    deal(bob, "lost before", [(NOV1, "Proposal", 70, date(2026, 11, 10)),
                              (date(2026, 11, 10), "Closed Lost", 70, date(2026, 11, 10))])
    deal(bob, "lost", [(NOV1, "Proposal", 80, date(2026, 12, 5)),
                       (date(2026, 11, 21), "Closed Lost", 80, date(2026, 11, 21))])
    return ann, bob


def test_changes_since_lists_each_kind(db):
    build(db)
    with db.engine.connect() as conn:
        changes = {c.name: c.kinds for c in changes_since(conn, SINCE, period=Q4, scope=Scope("org", "org"))}
    assert changes == {
        "advanced": ("advanced",),
        "slipped out": ("slipped", "pushed_out"),
        "won": ("won",),
        "new": ("new",),
        "bigger": ("amount_up",),
        "lost": ("lost",),
    }


def test_changes_summary_totals_and_scope(db):
    ann, _ = build(db)
    with db.engine.connect() as conn:
        total = changes_summary(conn, SINCE, period=Q4, scope=Scope("org", "org"))
        mine = changes_summary(conn, SINCE, period=Q4, scope=Scope("rep", "Ann", rep_id=ann))
    assert total["won"] == {"count": 1, "amount": Decimal("300.00")}
    assert total["lost"] == {"count": 1, "amount": Decimal("80.00")}
    assert total["amount_up"]["count"] == 1 and total["amount_down"]["count"] == 0
    assert mine["amount_up"]["count"] == 0 and mine["lost"]["count"] == 0
    assert mine["pushed_out"] == {"count": 1, "amount": Decimal("200.00")}
