"""Realistic sample leads for the demo and benchmarks: buyers, browsers and students."""
from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

from faker import Faker

COUNTRIES = ["DE", "DE", "AT", "CH", "US", "US", "US", "CA", "GB", "FR", "NL", "SG", "AU", "JP"]
INDUSTRIES = ["software", "saas", "fintech", "healthcare", "manufacturing", "logistics", "retail", "education", "media"]
SOURCES = ["website", "webinar", "trade-show", "content-download", "partner", "paid-search"]
PERSONAS = [  # (weight, titles, budget range, timeframe choices, demo request chance)
    (12, ["CEO", "CTO", "Chief Revenue Officer", "VP Sales", "VP Marketing", "Head of Operations", "Founder"],
     (50_000, 500_000), [1, 2, 3], 0.6),
    (45, ["Marketing Manager", "Sales Director", "IT Manager", "Operations Lead", "Director of Finance"],
     (5_000, 60_000), [3, 6, 9, 12], 0.1),
    (28, ["Analyst", "Consultant", "Engineer", "Coordinator", "Specialist"], (0, 15_000), [6, 12, 18, None], 0.03),
    (15, ["Student", "Intern", "Trainee"], (0, 0), [None], 0.0),
]
BAD_ROWS = [
    {"email": "not-an-email", "first_name": "Typo"},
    {"email": "", "first_name": "No", "last_name": "Email"},
    {"email": "huge@example.org", "need": "x" * 5000},
    {"email": "sizeless@example.org", "company_size": "lots"},
]
COLUMNS = ["email", "first_name", "last_name", "title", "company", "company_domain", "industry", "company_size",
           "country", "budget_usd", "timeframe_months", "need", "source", "consent", "demo_request"]


def sample_leads(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` leads from a pool of companies (so accounts have buying teams), deterministic per seed."""
    fake, rng = Faker(), random.Random(seed)
    Faker.seed(seed)
    companies = [_company(fake, rng) for _ in range(max(count // 4, 5))]
    leads, used = [], set()
    for _ in range(count):
        company = rng.choice(companies)
        _, titles, budget, timeframes, demo_chance = rng.choices(PERSONAS, weights=[p[0] for p in PERSONAS])[0]
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}@{company['company_domain']}".lower().replace(" ", "").replace("'", "")
        if email in used:
            email = email.replace("@", f"{len(used)}@")
        used.add(email)
        timeframe = rng.choice(timeframes)
        leads.append({
            **company, "email": email, "first_name": first, "last_name": last, "title": rng.choice(titles),
            "budget_usd": rng.randrange(budget[0], budget[1] + 1, 1000) if budget[1] else 0,
            "timeframe_months": timeframe if timeframe is not None else "",
            "need": rng.choice(["", "", "Replace spreadsheets", "Faster handoff to sales", "Better reporting"]),
            "source": rng.choice(SOURCES), "consent": rng.choice(["yes", "yes", "yes", "no"]),
            "demo_request": "yes" if rng.random() < demo_chance else "",
        })
    return leads


def _company(fake: Faker, rng: random.Random) -> dict[str, Any]:
    name = fake.company()
    domain = "".join(ch for ch in name.lower() if ch.isalnum())[:20] + rng.choice([".com", ".io", ".de", ".co"])
    return {"company": name, "company_domain": domain, "industry": rng.choice(INDUSTRIES),
            "company_size": rng.choice([12, 45, 120, 350, 800, 1500, 5000]), "country": rng.choice(COUNTRIES)}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
