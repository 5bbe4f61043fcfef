"""Where exchange rates come from: the importer's `exchange_rates` entity and the Salesforce sync of dated rates
(DatedConversionRate), through the fake Salesforce; and a synced multi-currency org's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from config import load_settings
from crm.engine import sync
from crm.http import CrmHttp
from crm.mapping import crm_mapping
from crm.salesforce import SalesforceConnector
from db.importer import import_mapping
from db.schema import exchange_rates
from errors import UserError
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from tests.fakecrm.salesforce import FakeSalesforce

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
MAPPING = """
date_format: "%d/%m/%Y"
files:
  - path: rates.csv
    entity: exchange_rates
    columns: {currency: Code, rate: Per USD, valid_from: From, valid_to: To}
"""


def rates(engine) -> list[tuple]:
    with engine.connect() as conn:
        r = exchange_rates
        return [tuple(row) for row in conn.execute(
            select(r.c.currency, r.c.rate, r.c.valid_from, r.c.valid_to, r.c.external_id)
            .order_by(r.c.currency, r.c.valid_from))]


def write(tmp_path, csv: str):
    (tmp_path / "mapping.yml").write_text(MAPPING)
    (tmp_path / "rates.csv").write_text(csv)
    return tmp_path / "mapping.yml"


def test_the_importer_loads_dated_rates_and_a_reimport_changes_nothing(db, tmp_path):
    mapping = write(tmp_path, "Code,Per USD,From,To\neur,0.91,01/01/2026,14/10/2026\nEUR,0.92,15/10/2026,\n"
                              "IDR,\"16,250.5\",01/01/2026,\n")
    report = import_mapping(db.engine, mapping, now=NOW)
    assert report.counts["exchange_rates"].inserted == 3
    assert rates(db.engine) == [
        ("EUR", Decimal("0.910000"), date(2026, 1, 1), date(2026, 10, 14), None),
        ("EUR", Decimal("0.920000"), date(2026, 10, 15), None, None),
        ("IDR", Decimal("16250.500000"), date(2026, 1, 1), None, None),
    ]
    again = import_mapping(db.engine, mapping, now=NOW)
    assert (again.counts["exchange_rates"].inserted, again.counts["exchange_rates"].updated,
            again.counts["exchange_rates"].unchanged) == (0, 0, 3)
    write(tmp_path, "Code,Per USD,From,To\nEUR,0.93,15/10/2026,\n")  # a corrected rate: updated in place
    import_mapping(db.engine, mapping, now=NOW)
    assert rates(db.engine)[1][1] == Decimal("0.930000")


@pytest.mark.parametrize(("row", "why"), [
    ("EUR,0,01/01/2026,", "a rate is above zero"),
    ("EUR,-0.9,01/01/2026,", "a rate is above zero"),
    ("EUR,0.9123456,01/01/2026,", "more than 6 decimal places"),
    ("EUR,about one,01/01/2026,", "is not an exchange rate"),
    ("EURO,0.9,01/01/2026,", "three-letter currency code"),
    ("EUR,0.9,01/02/2026,31/01/2026", "stops being valid before it starts (2026-02-01)"),
    ("EUR,0.9,,", "valid_from"),
])
def test_a_bad_rate_is_refused_whole_with_a_sentence(db, tmp_path, row, why):
    mapping = write(tmp_path, f"Code,Per USD,From,To\nIDR,16250,01/01/2026,\n{row}\n")
    with pytest.raises(UserError) as err:
        import_mapping(db.engine, mapping, now=NOW)
    assert "rates.csv, line 3" in str(err.value) and why in str(err.value)
    assert rates(db.engine) == []  # nothing written


@pytest.fixture
def fake():
    with FakeSalesforce(multi_currency=True) as server:
        yield server
    assert not server.errors, server.errors


def run_sync(engine, fake):
    connector = SalesforceConnector(load_settings(fake.env()).crm, CrmHttp(backoff=0.001, max_wait=0.01))
    return sync(engine, connector, crm_mapping("salesforce"))


def seed(fake) -> dict[str, str]:
    for label, order, prob, category, closed, won in (("Proposal", 3, 50, "BestCase", False, False),
                                                      ("Closed Won", 5, 100, "Closed", True, True)):
        fake.add("OpportunityStage", MasterLabel=label, SortOrder=order, DefaultProbability=prob,
                 ForecastCategoryName=category, IsClosed=closed, IsWon=won, IsActive=True)
    owner = fake.add("User", Name="Gita Rep", Email="gita@example.com", IsActive=True, TimeZoneSidKey="Asia/Jakarta")
    ids = {
        "first": fake.add("DatedConversionRate", IsoCode="IDR", ConversionRate=15500, StartDate="0001-01-01",
                          NextStartDate="2026-10-01"),
        "second": fake.add("DatedConversionRate", IsoCode="IDR", ConversionRate=16000, StartDate="2026-10-01",
                           NextStartDate="9999-12-31"),
    }
    # won on Sep 30 at 15,500 and on Oct 1 at 16,000; open at today's 16,000
    for stage, amount, close in (("Closed Won", 155_000_000, "2026-09-30"), ("Closed Won", 160_000_000, "2026-10-01"),
                                 ("Proposal", 32_000_000, "2026-12-20")):
        fake.add("Opportunity", Name=f"Jakarta {close}", OwnerId=owner, StageName=stage, Amount=amount,
                 CurrencyIsoCode="IDR", CloseDate=close, Probability=None, ForecastCategoryName=None)
    return ids


def layer(db, name: str, start: date, end: date):
    with db.engine.connect() as conn:
        return evaluate(conn, name, Period(start, end, "p", None), Scope("org", "org"), today=date(2026, 12, 1),
                        cache=ResultCache(0)).value


def test_salesforce_dated_rates_are_synced_and_convert_the_deals(db, fake):
    ids = seed(fake)
    run_sync(db.engine, fake)
    assert rates(db.engine) == [
        ("IDR", Decimal("15500.000000"), date(1, 1, 1), date(2026, 9, 30), ids["first"]),
        ("IDR", Decimal("16000.000000"), date(2026, 10, 1), None, ids["second"]),
    ]
    # USD 10,000 on Sep 30 (155,000,000 / 15,500) and USD 10,000 on Oct 1 (160,000,000 / 16,000)
    assert layer(db, "closed_won", date(2026, 9, 1), date(2026, 9, 30)) == Decimal("10000.00")
    assert layer(db, "closed_won", date(2026, 10, 1), date(2026, 10, 31)) == Decimal("10000.00")
    assert layer(db, "pipeline", date(2026, 12, 1), date(2026, 12, 31)) == Decimal("2000.00")

    # a new rate from Dec 1: Salesforce ends the previous one (its NextStartDate moves); the open deal follows
    fake.update("DatedConversionRate", ids["second"], NextStartDate="2026-12-01")
    fake.add("DatedConversionRate", IsoCode="IDR", ConversionRate=16250, StartDate="2026-12-01",
             NextStartDate="9999-12-31")
    run_sync(db.engine, fake)
    assert [r[2:4] for r in rates(db.engine)] == [(date(1, 1, 1), date(2026, 9, 30)),
                                                  (date(2026, 10, 1), date(2026, 11, 30)),
                                                  (date(2026, 12, 1), None)]
    assert layer(db, "pipeline", date(2026, 12, 1), date(2026, 12, 31)) == Decimal("1969.23")  # 32e6 / 16250
    assert layer(db, "closed_won", date(2026, 10, 1), date(2026, 10, 31)) == Decimal("10000.00")


def test_an_org_without_dated_rates_syncs_without_them(db):
    with FakeSalesforce() as plain:
        plain.add("User", Name="Sam Rep", Email="sam@example.com", IsActive=True, TimeZoneSidKey="UTC")
        report = run_sync(db.engine, plain)
    assert "DatedConversionRate: not in this salesforce org; skipped." in report.notes
    assert rates(db.engine) == []
