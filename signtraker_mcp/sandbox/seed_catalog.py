"""Invented brokerages, agents, presets and places that the sandbox seed draws from."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AGENTS",
    "CITIES",
    "DIRECTIONS",
    "NOTES",
    "OFFICES",
    "PRESETS",
    "STREET_LINE2",
    "City",
    "Office",
    "Preset",
]


@dataclass(frozen=True)
class Office:
    """A brokerage office: the cities it lists in and its e-mail domain and phone area code."""

    id: int
    name: str
    domain: str
    area_code: str
    cities: tuple[str, ...]


@dataclass(frozen=True)
class Preset:
    """An order preset, the post type it installs, its price and rebill interval in days."""

    id: int
    name: str
    post_type_id: int
    post_type_name: str
    price: float
    rebill_interval: int


@dataclass(frozen=True)
class City:
    """A city with its state code, country, postal code pattern, center and street names."""

    name: str
    state: str
    country: str
    postal_pattern: str
    latitude: float
    longitude: float
    streets: tuple[str, ...]


OFFICES = (
    Office(11, "Lone Star Hearth Realty", "lonestarhearth.example", "512", ("Austin",)),
    Office(12, "Front Range Home Partners", "frontrangehome.example", "303", ("Denver",)),
    Office(13, "Triangle Oak Properties", "triangleoak.example", "919", ("Raleigh",)),
    Office(14, "Saguaro Key Realty", "saguarokey.example", "602", ("Phoenix",)),
    Office(15, "Cascade Door Real Estate", "cascadedoor.example", "503", ("Portland",)),
    Office(16, "Maple Lantern Realty", "maplelantern.example", "416", ("Toronto", "Calgary", "Halifax")),
    Office(17, "Rive-Nord Immobilier", "rivenord.example", "514", ("Montréal",)),
    Office(18, "Southern Cross Estates", "southerncross.example", "+61", ("Brisbane", "Perth", "Adelaide")),
)

# (first name, last name, office id, inactive)
AGENTS = (
    ("Dana", "Whitfield", 11, False),
    ("Marcus", "Bell", 11, False),
    ("Priya", "Raman", 11, False),
    ("Tomás", "Ortega", 11, False),
    ("Jenna", "Kowalski", 11, False),
    ("Ethan", "Crowley", 12, False),
    ("Lucia", "Marin", 12, False),
    ("Grace", "Holloway", 12, True),
    ("Noah", "Petrakis", 12, False),
    ("Hannah", "Pruitt", 13, False),
    ("Darnell", "Jeffries", 13, False),
    ("Meredith", "Sloane", 13, False),
    ("Carlos", "Ibarra", 14, False),
    ("Whitney", "Dunn", 14, False),
    ("Ravi", "Menon", 14, True),
    ("Sofia", "Lindqvist", 14, False),
    ("Owen", "Fairbanks", 15, False),
    ("Mei", "Tanaka", 15, False),
    ("Leah", "Brandt", 15, False),
    ("Siobhan", "O'Brien", 16, False),
    ("Arjun", "Khatri", 16, False),
    ("Kyle", "MacLeod", 16, False),
    ("Brooke", "Hamilton", 16, True),
    ("Chloé", "Tremblay", 17, False),
    ("Étienne", "Gagnon", 17, False),
    ("Mathieu", "Lévesque", 17, False),
    ("Liam", "Fitzgerald", 18, False),
    ("Aisha", "Rahman", 18, False),
    ("Jack", "Nguyen", 18, False),
    ("Zoe", "Papadopoulos", 18, False),
)

PRESETS = (
    Preset(301, "Standard Post - Single Sign", 1, "Standard Post", 79.00, 90),
    Preset(302, "Standard Post + Rider", 1, "Standard Post", 94.00, 90),
    Preset(303, "Premium Post with Lights", 2, "Premium Lighted Post", 149.00, 90),
    Preset(304, "Colonial Post - Double Arm", 3, "Colonial Post", 119.00, 120),
    Preset(305, "Metal Frame - Open House", 4, "Metal Frame", 39.00, 30),
)

# Postal patterns: "#" is a digit, "A" a letter valid in Canadian postal codes, others are literal.
# fmt: off
CITIES = {
    city.name: city
    for city in (
        City("Austin", "TX", "US", "787##", 30.2672, -97.7431,
             ("Barton Springs Rd", "S Congress Ave", "E 6th St", "Manor Rd", "Burnet Rd", "Rosedale Ter")),
        City("Denver", "CO", "US", "802##", 39.7392, -104.9903,
             ("Tennyson St", "S Pearl St", "E Colfax Ave", "Larimer St", "E 17th Ave")),
        City("Raleigh", "NC", "US", "276##", 35.7796, -78.6382,
             ("Glenwood Ave", "Hillsborough St", "Oberlin Rd", "Wade Ave", "Fairview Rd")),
        City("Phoenix", "AZ", "US", "850##", 33.4484, -112.0740,
             ("E Camelback Rd", "N 7th St", "E Indian School Rd", "W Thomas Rd", "N 16th St")),
        City("Portland", "OR", "US", "972##", 45.5152, -122.6784,
             ("SE Hawthorne Blvd", "NE Alberta St", "NW 23rd Ave", "SE Division St", "N Williams Ave")),
        City("Toronto", "ON", "CA", "M#A #A#", 43.6532, -79.3832,
             ("Queen St E", "Danforth Ave", "Roncesvalles Ave", "Bloor St W", "Kingston Rd")),
        City("Calgary", "AB", "CA", "T#A #A#", 51.0447, -114.0719,
             ("Kensington Rd NW", "17 Ave SW", "Elbow Dr SW", "Edmonton Trail NE")),
        City("Halifax", "NS", "CA", "B#A #A#", 44.6488, -63.5752,
             ("St. John's Rd", "Spring Garden Rd", "Quinpool Rd", "Robie St", "Agricola St")),
        City("Montréal", "QC", "CA", "H#A #A#", 45.5019, -73.5674,
             ("Rue Saint-Denis", "Boulevard Saint-Laurent", "Avenue du Mont-Royal Est", "Rue de l'Église",
              "Rue Sainte-Catherine Est")),
        City("Brisbane", "QLD", "AU", "4###", -27.4698, 153.0251,
             ("Boundary St", "Given Tce", "Latrobe Tce", "Oxford St", "Ipswich Rd")),
        City("Perth", "WA", "AU", "6###", -31.9523, 115.8613,
             ("Hay St", "Beaufort St", "Oxford St", "Walcott St", "Canning Hwy")),
        City("Adelaide", "SA", "AU", "5###", -34.9285, 138.6007,
             ("King William St", "The Parade", "Unley Rd", "Prospect Rd", "Henley Beach Rd")),
    )
}
# fmt: on

NOTES = (
    "Gate code 4412.",
    "Place the sign near the driveway, away from the sprinkler heads.",
    "Corner lot; face the sign toward the busier street.",
    "Call the agent before install.",
    "Owner's dog is in the backyard; use the front gate.",
    "Add the rider 'Open House Sun 1-4'.",
    "HOA allows posts only on the right side of the lawn.",
    "Buried irrigation line along the sidewalk.",
)

DIRECTIONS = (
    "Enter from the alley behind the house.",
    "Second driveway past the mailbox cluster.",
    "Park on the street; the driveway is shared.",
    "Sign goes on the corner facing the main road.",
)

STREET_LINE2 = ("Unit 3", "Apt 2B", "Suite 110", "Lot 14", "Unit 12")
