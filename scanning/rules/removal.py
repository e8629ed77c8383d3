"""Removal: a patch, ring or implant stays on the patient until it is documented removed. A new
one of the same substance is a STOP while the last one is on (VistA's "MRR": a second fentanyl
patch on top of the first is an overdose), whatever its site.

Decisions DESIGN.md leaves open (pinned in tests/scanning/rules/test_removal.py):
- "the same" is the same substance, not the same product: a 25 mcg/h patch over a 50 mcg/h one of
  fentanyl is still two; a nitroglycerin patch beside a fentanyl patch is not.
- A record entered in error was never on the patient (the caller's `worn` leaves it out).
- Checked once the patient is in care, whichever order the scan matches: a patch on the patient
  is a fact about the patient.

Words and severities: catalogue.py.
"""

from __future__ import annotations

from pharmacy.body_sites import site_get
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, Words, clock
from scanning.rules.facts import CheckFacts, MedicationFacts


def site_words(code: str) -> Words:
    """A stored site as each language says it; free text from before sites were coded as written."""
    site = site_get(code)
    if site is None:
        text = code or "?"
        return Words(text, text)
    return Words(site.vi, site.en)


def check_worn(facts: CheckFacts, medications: list[MedicationFacts], out: Findings) -> None:
    substances = {m.substance_code for m in medications if m.requires_removal}
    for worn in facts.worn:
        if worn.substance_code in substances:
            out.add(
                FindingCode.PREVIOUS_NOT_REMOVED,
                {
                    "medication": worn.medication_name,
                    "applied": clock(worn.applied_at, facts),
                    "site": site_words(worn.site),
                },
                administration=worn.administration_id,
                site=worn.site,
            )
