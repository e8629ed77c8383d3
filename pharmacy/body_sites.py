"""Body sites where an injection is given or a patch, ring or implant is placed: HL7 table 0163
codes (RXR-2), the SNOMED CT body-structure code and display for FHIR `dosage.site`, the names a
Vietnamese ward nurse uses and the English ones. Pure data,
no Django: the bedside rules, the services, the cart and the HL7/FHIR mappers read this one table.

`Administration.site` stores the code. Records written before sites were coded hold free text;
`site_label` shows such text as it was written, and the mappers send it as text only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BodySite:
    code: str  # HL7 table 0163
    hl7: str  # HL7 table 0163 display
    snomed: str  # SNOMED CT body structure
    snomed_display: str
    vi: str
    en: str


SNOMED_SYSTEM = "http://snomed.info/sct"
HL7_TABLE = "HL70163"

# The sites a provincial hospital's wards use for subcutaneous and intramuscular injections and
# for patches. Each is an HL7 table 0163 code with its SNOMED CT body structure; a site is added
# only with both (a hospital's terminology service should review the SNOMED codes on adoption).
_SITES = (
    BodySite("LUA", "Left Upper Arm", "368208006", "Left upper arm structure",
             "cánh tay trái", "left upper arm"),
    BodySite("RUA", "Right Upper Arm", "368209003", "Right upper arm structure",
             "cánh tay phải", "right upper arm"),
    BodySite("LUAQ", "Left Upper Abd Quadrant", "86367003",
             "Structure of left upper quadrant of abdomen",
             "bụng trên bên trái", "left upper abdomen"),
    BodySite("RUAQ", "Right Upper Abd Quadrant", "50519007",
             "Structure of right upper quadrant of abdomen",
             "bụng trên bên phải", "right upper abdomen"),
    BodySite("LLAQ", "Left Lower Abd Quadrant", "68505006",
             "Structure of left lower quadrant of abdomen",
             "bụng dưới bên trái", "left lower abdomen"),
    BodySite("RLAQ", "Right Lower Abd Quadrant", "48544008",
             "Structure of right lower quadrant of abdomen",
             "bụng dưới bên phải", "right lower abdomen"),
    BodySite("LT", "Left Thigh", "61396006", "Left thigh structure",
             "đùi trái", "left thigh"),
    BodySite("RT", "Right Thigh", "11207009", "Right thigh structure",
             "đùi phải", "right thigh"),
)  # fmt: skip

BODY_SITES: dict[str, BodySite] = {site.code: site for site in _SITES}


def site_get(code: str) -> BodySite | None:
    """The coded site, or None for free text written before sites were coded (or nothing)."""
    return BODY_SITES.get(code)


def site_label(value: str, language: str = "vi") -> str:
    """What a nurse reads for a stored site: the coded site's name, else the old free text."""
    site = BODY_SITES.get(value)
    if site is None:
        return value
    return site.vi if language.startswith("vi") else site.en
