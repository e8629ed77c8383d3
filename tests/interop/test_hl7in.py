"""The inbound HL7 parser on its own (pure): escapes, names, timing, and arbitrary input."""

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interop.inbound import his_day as h
from interop.inbound import hl7in
from interop.inbound import types as t

START = datetime(2026, 11, 24, 7, 0, tzinfo=h.HCMC)
CONFIG = hl7in.ParseConfig(repeat_times={"BID": ("08:00", "20:00")})


def order(**fields) -> t.OrderData:
    message = h.rde(
        "R1",
        START,
        h.pid("BN1", "Ngô", "Hạnh", "Thị"),
        h.pv1("NOI", "", "V1"),
        h.order_group("NW", "YL1", at=START, drug="TT01", **fields),
    )
    parsed = hl7in.parse(message, CONFIG)
    if parsed.problem:
        raise parsed.problem
    return parsed.body.orders[0]


def test_names_escapes_and_identifiers():
    patient = h.pid("bn1", "Nguy\\T\\ễn", "An", "Văn", cccd="001", bhyt="HC1")
    parsed = hl7in.parse(h.adt("A01", "X\\F\\1", START, patient, h.pv1("NOI", "01", "V")))

    assert parsed.header.control_id == "X|1"
    assert parsed.body.patient.full_name == "Nguy&ễn Văn An"
    assert parsed.body.patient.mrn == "BN1"
    assert (parsed.body.patient.national_id, parsed.body.patient.health_insurance_number) == (
        "001",
        "HC1",
    )


@pytest.mark.parametrize(
    ("fields", "kind", "detail"),
    [
        ({"amount": "500", "times": "0800~2000"}, t.TIMES, ("08:00", "20:00")),
        ({"amount": "500", "repeat": "BID"}, t.TIMES, ("08:00", "20:00")),
        ({"amount": "1", "unit": "g", "repeat": "Q8H"}, t.INTERVAL, 8),
        ({"amount": "1", "unit": "g", "repeat": "STAT"}, t.STAT, None),
        ({"amount": "1", "unit": "g", "priority": "S"}, t.STAT, None),
        ({"amount": "1", "unit": "g", "repeat": "ONCE"}, t.ONCE, None),
        ({"amount": "1", "unit": "g", "priority": "A"}, t.ONCE, None),
        ({"amount": "1", "unit": "g", "repeat": "ONCALL"}, t.ON_CALL, None),
        ({"amount": "1", "unit": "g", "priority": "C"}, t.ON_CALL, None),
    ],
)
def test_timing(fields, kind, detail):
    timing = order(**fields).timing
    assert timing.kind == kind
    if kind == t.TIMES:
        assert timing.times_of_day == detail
    if kind == t.INTERVAL:
        assert timing.interval_hours == detail


def test_prn_needs_indication_interval_and_daily_maximum():
    prn = order(amount="500", repeat="Q4H", priority="PRN", condition="Đau", daily_max="4000")
    assert (prn.timing.kind, prn.timing.prn_min_interval_minutes) == (t.PRN, 240)
    assert prn.timing.prn_max_per_24h == Decimal("4000")
    with pytest.raises(t.InboundProblem, match="PRN"):
        order(amount="500", repeat="Q4H", priority="PRN", condition="Đau")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"amount": "abc", "times": "0800"}, "BAD_DOSE"),
        ({"amount": "-1", "times": "0800"}, "BAD_DOSE"),
        ({"amount": "5", "unit": "tsp", "times": "0800"}, "UNIT_UNKNOWN"),
        ({"amount": "5", "times": "2500"}, "BAD_TIMING"),
        ({"amount": "5", "repeat": "WHENEVER"}, "BAD_TIMING"),
        ({"amount": "5", "repeat": "Q90M"}, "BAD_TIMING"),
    ],
)
def test_bad_orders_are_problems_with_a_location(fields, code):
    with pytest.raises(t.InboundProblem) as problem:
        order(**fields)
    assert problem.value.code == code
    assert problem.value.location


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_is_rejected_or_parsed_never_a_crash(text):
    try:
        parsed = hl7in.parse(text)
    except t.Rejected:
        return
    assert parsed.header.control_id


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="|^~\\&\r\n\x0b\x1c"),
        max_size=60,
    )
)
def test_any_family_name_comes_through_as_text(value):
    message = h.adt("A08", "X1", START, h.pid("BN1", value, "An"))

    parsed = hl7in.parse(message)

    assert parsed.body.patient.mrn == "BN1"
    assert parsed.body.patient.full_name == " ".join(p for p in (value.strip(), "An") if p)
