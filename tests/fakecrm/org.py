"""A generated Salesforce org for the fake: stages, users in a manager tree, accounts, opportunities that move
through stages (each change a history row, as Salesforce writes them), tasks and events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tests.fakecrm.salesforce import FakeSalesforce, sf_time

STAGES = [  # (label, sort order, probability, forecast category, closed, won)
    ("Prospecting", 1, 10, "Pipeline", False, False),
    ("Qualification", 2, 20, "Pipeline", False, False),
    ("Proposal", 3, 50, "BestCase", False, False),
    ("Negotiation", 4, 80, "Commit", False, False),
    ("Closed Won", 5, 100, "Closed", True, True),
    ("Closed Lost", 6, 0, "Omitted", True, False),
]
TODAY = date(2026, 12, 1)


def seed_org(fake: FakeSalesforce, seed: int = 1, reps: int = 6, deals: int = 60, tasks: int = 40) -> dict:
    rng = random.Random(seed)
    for label, order, prob, category, closed, won in STAGES:
        fake.add("OpportunityStage", MasterLabel=label, SortOrder=order, DefaultProbability=prob,
                 ForecastCategoryName=category, IsClosed=closed, IsWon=won, IsActive=True)
    boss = fake.add("User", Name="Vera Boss", Email="vera.boss@example.com", IsActive=True,
                    TimeZoneSidKey="America/New_York")
    manager = fake.add("User", Name="Mo Manager", Email="mo.manager@example.com", ManagerId=boss, IsActive=True,
                       TimeZoneSidKey="Europe/London")
    users = [fake.add("User", Name=f"Rep {i}", Email=f"rep{i}@example.com", ManagerId=manager, IsActive=True,
                      TimeZoneSidKey="America/Chicago") for i in range(reps)]
    accounts = [fake.add("Account", Name=f"Account {i}", Industry=rng.choice(["Retail", "Tech", "Health"]),
                         OwnerId=rng.choice(users), CreatedDate=sf_time(datetime(2025, 6, 1, tzinfo=UTC)))
                for i in range(max(3, deals // 4))]
    opps = []
    for i in range(deals):
        created = TODAY - timedelta(days=rng.randint(10, 300))
        label, _, prob, category, closed, _ = STAGES[rng.randint(0, 1)]
        oid = fake.add("Opportunity", Name=f"Deal {i}", AccountId=rng.choice(accounts), OwnerId=rng.choice(users),
                       StageName=label, Amount=Decimal(rng.randint(5, 900) * 100) + Decimal(rng.choice(["0", "0.5",
                                                                                                       "0.25"])),
                       Probability=prob, ForecastCategoryName=category,
                       CloseDate=(TODAY + timedelta(days=rng.randint(-90, 120))).isoformat(),
                       CreatedDate=sf_time(datetime.combine(created, datetime.min.time(), UTC)),
                       LeadSource=rng.choice(["Web", "Partner", None]))
        for _ in range(rng.randint(0, 3)):
            label, _, prob, category, closed, _ = STAGES[rng.randint(1, 5)]
            fake.update("Opportunity", oid, StageName=label, Probability=prob, ForecastCategoryName=category,
                        Amount=Decimal(rng.randint(5, 900) * 100))
            if closed:
                break
        opps.append(oid)
    for _ in range(tasks):
        fake.add("Task", WhatId=rng.choice(opps), OwnerId=rng.choice(users), TaskSubtype=rng.choice(["Call", "Email"]),
                 Subject="Touch base", ActivityDate=(TODAY - timedelta(days=rng.randint(0, 60))).isoformat())
    return {"boss": boss, "manager": manager, "users": users, "accounts": accounts, "opps": opps}
