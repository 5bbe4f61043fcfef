"""A generated HubSpot portal for the fake: a sales pipeline, owners (one archived), companies, deals that move
through stages (each move in the property history, as HubSpot keeps it) and engagements on deals."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tests.fakecrm.hubspot import ENGAGEMENT_SUBJECT, FakeHubSpot, hs_time

TODAY = date(2026, 12, 1)
STAGES = [  # (label, probability as HubSpot writes it, closed)
    ("Appointment Scheduled", "0.2", False),
    ("Qualified To Buy", "0.4", False),
    ("Presentation Scheduled", "0.6", False),
    ("Contract Sent", "0.9", False),
    ("Closed Won", "1.0", True),
    ("Closed Lost", "0.0", True),
]
CATEGORIES = [None, None, None, "COMMIT", "BEST_CASE", "OMIT"]


def seed_portal(fake: FakeHubSpot, seed: int = 1, owners: int = 5, deals: int = 60, engagements: int = 40) -> dict:
    rng = random.Random(seed)
    stage_ids = fake.add_pipeline("Sales Pipeline", STAGES)
    people = [fake.add_owner(f"Rep{i}", "Hub", f"rep{i}@example.com", team=rng.choice(["West", "East"]))
              for i in range(owners)]
    fake.add_owner("Gone", "Away", "gone.away@example.com", archived=True)
    companies = []
    for i in range(max(3, deals // 4)):
        companies.append(fake.add("companies", at=hs_time(datetime(2025, 6, 1, tzinfo=UTC)), name=f"Company {i}",
                                  industry=rng.choice(["Retail", "Tech", "Health"]),
                                  hubspot_owner_id=rng.choice(people)))
    ids = []
    for i in range(deals):
        created = datetime.combine(TODAY - timedelta(days=rng.randint(10, 300)), datetime.min.time(), UTC)
        did = fake.add("deals", at=hs_time(created), dealname=f"Deal {i}", pipeline="default",
                       dealstage=stage_ids[rng.randint(0, 1)], hubspot_owner_id=rng.choice(people),
                       amount=Decimal(rng.randint(5, 900) * 100) + Decimal(rng.choice(["0", "0.5", "0.25"])),
                       closedate=hs_time(TODAY + timedelta(days=rng.randint(-90, 120))),
                       hs_manual_forecast_category=rng.choice(CATEGORIES), deal_currency_code="USD")
        fake.associate("deals", did, "companies", rng.choice(companies), primary=True)
        for _ in range(rng.randint(0, 3)):
            stage = rng.randint(1, 5)
            fake.update("deals", did, dealstage=stage_ids[stage], amount=Decimal(rng.randint(5, 900) * 100))
            if STAGES[stage][2]:
                break
        ids.append(did)
    for _ in range(engagements):
        add_engagement(fake, rng.choice(list(ENGAGEMENT_SUBJECT)), rng.choice(ids), rng.choice(people),
                       TODAY - timedelta(days=rng.randint(0, 60)))
    return {"owners": people, "companies": companies, "deals": ids, "stages": stage_ids}


def add_engagement(fake: FakeHubSpot, obj: str, deal: str | None, owner: str, day: date) -> str:
    fields = {"hs_timestamp": hs_time(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)),
              "hubspot_owner_id": owner, ENGAGEMENT_SUBJECT[obj]: f"About {obj}"}
    eid = fake.add(obj, **fields)
    if deal:
        fake.associate(obj, eid, "deals", deal)
    return eid
