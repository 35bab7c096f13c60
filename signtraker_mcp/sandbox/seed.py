"""Generate the sandbox's deterministic fake data: offices, agents, presets and orders.

Every value comes from a ``random.Random`` with a fixed seed and dates count back from
a fixed anchor, so two fresh databases hold identical data whatever the current date.
All names, addresses, e-mail domains (``.example``) and phone numbers are invented.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass
from typing import Any

from .dates import next_business_day_due
from .records import job_site_record, order_record
from .seed_catalog import AGENTS, CITIES, DIRECTIONS, NOTES, OFFICES, PRESETS, STREET_LINE2, Office, Preset

__all__ = ["ANCHOR", "SeedAgent", "SeedData", "SeedOrder", "generate_seed"]

ANCHOR = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
RANDOM_SEED = 20261130
RANDOM_ORDER_COUNT = 250
FIRST_ORDER_NUMBER = 100001
FIRST_ORDER_ID = 48210
FIRST_AGENT_ID = 1001
CANADIAN_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
RUSH_FEE = 25.00
RECENT_DAYS = 14
RECENT_SHARE = 0.15


@dataclass(frozen=True)
class SeedAgent:
    """An agent of the seed, with the office it works for."""

    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    office: Office
    is_inactive: bool


@dataclass(frozen=True)
class SeedOrder:
    """An order record of the seed with the agent and preset it was ordered with."""

    record: dict[str, Any]
    agent_id: int
    preset_id: int


@dataclass(frozen=True)
class SeedData:
    """Everything a fresh sandbox database starts with."""

    offices: tuple[Office, ...]
    agents: tuple[SeedAgent, ...]
    presets: tuple[Preset, ...]
    orders: tuple[SeedOrder, ...]


@dataclass
class _Plan:
    """The choices behind one order, before ids are given in order of creation."""

    agent: SeedAgent
    status: str
    days_ago: int
    city: str | None = None
    street_name: str | None = None
    street_line2: str | None = None
    notes: str | None = None


def _ascii_slug(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    letters = [character for character in decomposed if character.isascii() and character.isalnum()]
    return "".join(letters).lower()


def _make_agents() -> tuple[SeedAgent, ...]:
    offices = {office.id: office for office in OFFICES}
    agents = []
    for index, (first, last, office_id, inactive) in enumerate(AGENTS):
        office = offices[office_id]
        if office.area_code.startswith("+61"):
            phone = f"+61 491 570 {110 + index:03d}"
        else:
            phone = f"+1 {office.area_code}-555-{100 + index:04d}"
        email = f"{_ascii_slug(first)}.{_ascii_slug(last)}@{office.domain}"
        agents.append(SeedAgent(FIRST_AGENT_ID + index, first, last, email, phone, office, inactive))
    return tuple(agents)


def _pick_status(rng: random.Random, days_ago: int, inactive: bool) -> str:
    if inactive:
        return rng.choices(("Removed", "Cancelled"), weights=(8, 1))[0]
    if days_ago <= RECENT_DAYS:
        statuses = ("Draft", "PaymentRequired", "Designing", "Scheduled", "Installed", "Cancelled")
        return rng.choices(statuses, weights=(1, 1, 1, 3, 3, 0.3))[0]
    later_statuses = ("Installed", "RemovalRequested", "Removed", "Cancelled")
    if days_ago <= 120:
        return rng.choices(later_statuses, weights=(6, 1.5, 2.5, 0.4))[0]
    return rng.choices(later_statuses, weights=(3, 0.5, 6, 0.5))[0]


def _forced_plans(agents: dict[str, SeedAgent]) -> list[_Plan]:
    """Return the orders that demos and tests rely on, whatever the random draws give."""
    dana = agents["Dana Whitfield"]
    plans = [_Plan(dana, "Installed", days, "Austin") for days in (12, 25, 41, 63, 88)]
    plans[0].street_name = "Barton Springs Rd"
    plans += [_Plan(dana, "Removed", days, "Austin") for days in (150, 210, 300)]
    plans.append(_Plan(dana, "RemovalRequested", 70, "Austin"))
    plans.append(_Plan(agents["Siobhan O'Brien"], "Installed", 33, "Halifax", "St. John's Rd"))
    plans.append(_Plan(agents["Chloé Tremblay"], "Installed", 19, "Montréal", "Rue de l'Église", notes="Près du café."))
    plans.append(_Plan(agents["Ethan Crowley"], "Installed", 27, "Denver", "Larimer St", "Unit #4"))
    plans.append(_Plan(agents["Marcus Bell"], "Scheduled", 2, "Austin"))
    plans.append(_Plan(agents["Priya Raman"], "Draft", 1, "Austin"))
    plans.append(_Plan(agents["Lucia Marin"], "PaymentRequired", 3, "Denver"))
    plans.append(_Plan(agents["Owen Fairbanks"], "Designing", 4, "Portland"))
    return plans


def _postal_code(rng: random.Random, pattern: str) -> str:
    characters = []
    for symbol in pattern:
        if symbol == "#":
            characters.append(str(rng.randint(0, 9)))
        elif symbol == "A":
            characters.append(rng.choice(CANADIAN_POSTAL_LETTERS))
        else:
            characters.append(symbol)
    return "".join(characters)


def _at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _build_order(rng: random.Random, plan: _Plan, order_id: int, order_number: int) -> SeedOrder:
    preset = rng.choice(PRESETS)
    city = CITIES[plan.city or rng.choice(plan.agent.office.cities)]
    created = _at(ANCHOR - dt.timedelta(days=plan.days_ago), rng.randint(13, 23), rng.randint(0, 59))
    status = plan.status

    due_date: dt.datetime | None = next_business_day_due(created + dt.timedelta(days=rng.randint(0, 4)))
    if status == "Scheduled" and due_date is not None and due_date < ANCHOR:
        due_date = next_business_day_due(ANCHOR + dt.timedelta(days=rng.randint(0, 3)))
    if status == "Draft" and rng.random() < 0.5:
        due_date = None
    is_due_definitive = due_date is not None and rng.random() < 0.35

    installed = request = removal_due = removed = next_rebill = None
    is_removal_definitive = False
    if status in {"Installed", "RemovalRequested", "Removed"} and due_date is not None:
        install_day = due_date - dt.timedelta(days=rng.randint(0, 1))
        installed = min(_at(install_day, rng.randint(14, 22), rng.randint(0, 59)), ANCHOR - dt.timedelta(hours=1))
        installed = max(installed, created + dt.timedelta(hours=2))
    if status in {"RemovalRequested", "Removed"} and installed is not None:
        if status == "RemovalRequested":
            request = ANCHOR - dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 8))
        else:
            span = max((ANCHOR - installed).days - 10, 1)
            request = installed + dt.timedelta(days=rng.randint(1, span), hours=rng.randint(0, 6))
        is_removal_definitive = rng.random() < 0.3
        if is_removal_definitive:
            removal_due = _at(request + dt.timedelta(days=rng.randint(2, 5)), 17)
        else:
            removal_due = next_business_day_due(request)
        if status == "Removed":
            removed = min(removal_due - dt.timedelta(hours=rng.randint(0, 5)), ANCHOR - dt.timedelta(hours=1))
    if status in {"Installed", "RemovalRequested"} and installed is not None:
        next_rebill = installed + dt.timedelta(days=preset.rebill_interval)
        while next_rebill <= ANCHOR:
            next_rebill += dt.timedelta(days=preset.rebill_interval)

    total = preset.price + (RUSH_FEE if rng.random() < 0.1 else 0.0)
    job_site = job_site_record(
        job_site_id=90000 + order_number - FIRST_ORDER_NUMBER + 1,
        street_number=str(rng.randint(100, 9899)),
        street_name=plan.street_name or rng.choice(city.streets),
        street_line2=plan.street_line2 or (rng.choice(STREET_LINE2) if rng.random() < 0.15 else None),
        city=city.name,
        state=city.state,
        zip_code=_postal_code(rng, city.postal_pattern),
        country_code=city.country,
        latitude=round(city.latitude + rng.uniform(-0.06, 0.06), 6),
        longitude=round(city.longitude + rng.uniform(-0.06, 0.06), 6),
        directions=rng.choice(DIRECTIONS) if rng.random() < 0.25 else None,
        listing_number=f"MLS-{created.year}-{rng.randint(1000, 99999):06d}" if rng.random() < 0.95 else None,
    )
    sales_order_id = 700000 + order_number - FIRST_ORDER_NUMBER + 1
    notes = plan.notes or (rng.choice(NOTES) if rng.random() < 0.45 else None)
    record = order_record(
        order_id=order_id,
        order_number=order_number,
        status=status,
        notes=notes,
        created=created,
        due_date=due_date,
        is_due_date_definitive=is_due_definitive,
        rebill_interval=preset.rebill_interval,
        job_site=job_site,
        post_type={"Id": preset.post_type_id, "Name": preset.post_type_name},
        agent={"Id": plan.agent.id, "Name": f"{plan.agent.first_name} {plan.agent.last_name}"},
        sales_order=None if status == "Draft" else {"Id": sales_order_id, "OrderTotal": round(total, 2)},
        date_installed=installed,
        removal_request_date=request,
        removal_due_date=removal_due,
        is_removal_due_date_definitive=is_removal_definitive,
        removal_date=removed,
        next_rebill_date=next_rebill,
    )
    return SeedOrder(record, plan.agent.id, preset.id)


def generate_seed() -> SeedData:
    """Generate the seed data; every call returns equal data."""
    # A seeded generator keeps the data reproducible; nothing here needs secrecy.
    rng = random.Random(RANDOM_SEED)  # noqa: S311
    agents = _make_agents()
    by_name = {f"{agent.first_name} {agent.last_name}": agent for agent in agents}

    plans = _forced_plans(by_name)
    for _ in range(RANDOM_ORDER_COUNT):
        agent = rng.choice(agents)
        if agent.is_inactive:
            days_ago = rng.randint(181, 420)
        elif rng.random() < RECENT_SHARE:
            days_ago = rng.randint(1, RECENT_DAYS)
        else:
            days_ago = rng.randint(RECENT_DAYS + 1, 420)
        plans.append(_Plan(agent, _pick_status(rng, days_ago, agent.is_inactive), days_ago))

    # Ids and order numbers grow with the creation date, as they would in a live system.
    plans.sort(key=lambda plan: plan.days_ago, reverse=True)
    orders = []
    order_id = FIRST_ORDER_ID
    for index, plan in enumerate(plans):
        order_id += rng.randint(1, 4)
        orders.append(_build_order(rng, plan, order_id, FIRST_ORDER_NUMBER + index))
    return SeedData(OFFICES, agents, PRESETS, tuple(orders))
