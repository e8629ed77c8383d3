"""Site: injections and patches of a substance that marks a look-back (heparin, insulin,
enoxaparin 48 h; a fentanyl patch 7 days) should rotate sites. The same site used for the same
substance within the look-back WARNs with the last time it was used.

Decisions DESIGN.md leaves open (pinned in tests/scanning/rules/test_site.py):
- Within means strictly less than the look-back: a site used exactly 48 h ago is free again.
- Only the last use is named; records entered in error do not count (the caller leaves them out).
- No site chosen yet says nothing: the cart checks again once the nurse taps a site.

Words and severities: catalogue.py.
"""

from __future__ import annotations

from datetime import timedelta

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, clock
from scanning.rules.facts import CheckFacts, MedicationFacts
from scanning.rules.removal import site_words


def check_site(facts: CheckFacts, medications: list[MedicationFacts], out: Findings) -> None:
    if not facts.site:
        return
    for medication in medications:
        if not medication.site_lookback_hours:
            continue
        since = facts.now - timedelta(hours=medication.site_lookback_hours)
        uses = [
            use.at
            for use in facts.site_uses
            if use.substance_code == medication.substance_code
            and use.site == facts.site
            and since < use.at <= facts.now
        ]
        if uses:
            last = max(uses)
            out.add(
                FindingCode.SITE_RECENTLY_USED,
                {
                    "site": site_words(facts.site),
                    "substance": medication.name,
                    "last": clock(last, facts),
                },
                site=facts.site,
                last_used_at=last.isoformat(),
                lookback_hours=medication.site_lookback_hours,
            )
