"""A small hand-built org whose figures are worked out by hand in tests/test_metrics_kpis.py."""

from datetime import date

from tests.factories import Factory


def build_small_org(engine) -> dict[str, int]:
    """exec E; manager M under E (own quota row); manager M2 under M (no own row); rep A under M;
    rep B under M2; rep C under E."""
    f = Factory(engine)
    e = f.rep("Erin Exec", role="exec")
    m = f.rep("Max Manager", role="manager", manager=e, team="West")
    m2 = f.rep("Mia Lead", role="manager", manager=m, team="West")
    a = f.rep("Ann Rep", manager=m, team="West", region="NA")
    b = f.rep("Bob Rep", manager=m2, team="West", region="EU")
    c = f.rep("Cat Rep", manager=e, team="East", region="NA")
    f.rep("Olly Ops", role="ops")
    acc = f.account("Acme", segment="Enterprise")
    # Ann: open Proposal 1000 (p50, best case), open Negotiation 2000 (p80, commit), won 3000 (cycle 30),
    # lost 500, open 4000 outside Q4, open 700 forecast as omitted (excluded from pipeline).
    f.deal(a, "Proposal", 1000, date(2026, 11, 30), account_id=acc, product="Core", name="Acme platform",
           external_id="opp-acme-platform")
    f.deal(a, "Negotiation", 2000, date(2026, 12, 15), product="Core")
    f.deal(a, "Closed Won", 3000, date(2026, 10, 10), created=date(2026, 9, 10), product="Addon")
    f.deal(a, "Closed Lost", 500, date(2026, 10, 20))
    f.deal(a, "Prospecting", 4000, date(2027, 1, 15))
    f.deal(a, "Qualification", 700, date(2026, 11, 1), forecast_category="omitted")
    # Bob: won 1000 (cycle 30), won 2000 (cycle 60), open Prospecting 300 with probability overridden to 30.
    f.deal(b, "Closed Won", 1000, date(2026, 11, 1), created=date(2026, 10, 2))
    f.deal(b, "Closed Won", 2000, date(2026, 11, 5), created=date(2026, 9, 6))
    f.deal(b, "Prospecting", 300, date(2026, 12, 1), probability=30)
    # Cat: won 5000 (cycle 30).
    f.deal(c, "Closed Won", 5000, date(2026, 12, 1), created=date(2026, 11, 1))
    for rep, amount in ((a, 10000), (b, 5000), (c, 8000), (m, 18000)):
        f.quota(rep, date(2026, 10, 1), date(2026, 12, 31), amount)
    f.quota(a, date(2026, 7, 1), date(2026, 9, 30), 9000)  # another quarter: must not count
    return {"E": e, "M": m, "M2": m2, "A": a, "B": b, "C": c}
