"""The sandbox's cast: the bot, the citizen you play, the staff groups and their demo people.

Every name starts with "Demo", so a screenshot of the sandbox can never pass for a real desk.
The ids are far from real Telegram ids of people; groups use the supergroup form.
"""

from __future__ import annotations

from dataclasses import dataclass

BOT_ID = 7000000001
BOT_USERNAME = "tipline_sandbox_bot"
BOT_NAME = "Tipline (sandbox)"
# The emulator checks the token like Telegram does; the bot is given this one.
TOKEN = f"{BOT_ID}:SANDBOX-NOT-A-REAL-TOKEN"

REVIEW_CHAT = -1009000000001
FINANCE_CHAT = -1009000000002
REVIEW_TITLE = "Demo Review Desk"
FINANCE_TITLE = "Demo Finance"

# Demo tipsters of the seeded tips are numbered from here, a new range for each seeding.
DEMO_TIPSTER_BASE = 9100000000


@dataclass(frozen=True)
class Persona:
    """Someone the page lets you act as."""

    key: str
    user_id: int
    name: str
    role: str


CITIZEN = Persona("citizen", 9000000001, "Demo Citizen", "citizen")

REVIEWER_A = Persona("reviewer_a", 9000000101, "Demo Reviewer A", "member")
REVIEWER_B = Persona("reviewer_b", 9000000102, "Demo Reviewer B", "member")
REVIEW_LEAD = Persona("review_lead", 9000000103, "Demo Review Lead", "administrator")
FINANCE_A = Persona("finance_a", 9000000201, "Demo Finance A", "member")
FINANCE_B = Persona("finance_b", 9000000202, "Demo Finance B", "member")

# Who may be played in each staff pane. Reviewer A is in finance too, so that the page can
# show that the proposer of a reward can never approve it.
REVIEW_PEOPLE = (REVIEWER_A, REVIEWER_B, REVIEW_LEAD)
FINANCE_PEOPLE = (FINANCE_A, FINANCE_B, REVIEWER_A)

PANES = {
    "citizen": (CITIZEN,),
    "review": REVIEW_PEOPLE,
    "finance": FINANCE_PEOPLE,
}


def pane_chat(pane: str) -> int:
    """The chat a pane shows."""
    if pane == "review":
        return REVIEW_CHAT
    if pane == "finance":
        return FINANCE_CHAT
    return CITIZEN.user_id


def persona(pane: str, key: str) -> Persona | None:
    """One of the pane's people by key, or None."""
    return next((p for p in PANES.get(pane, ()) if p.key == key), None)
