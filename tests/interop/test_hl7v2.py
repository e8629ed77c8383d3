import uuid
from dataclasses import replace

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message
from hypothesis import given, settings
from hypothesis import strategies as st

from interop.hl7v2 import (
    AckParseError,
    ack_build,
    ack_parse,
    completion_status,
    message_control_id,
    message_header,
    ras_o17,
    ras_o17_message,
)
from interop.ids import short_id
from tests.interop.conftest import (
    ENTERED_IN_ERROR,
    GIVEN,
    HL7_CONFIG,
    KINDS,
    NOT_GIVEN,
    PARTIAL,
    REPLACEMENT,
)
from tests.interop.golden import assert_golden

# hl7apy's copy of HL7 table 0396 (coding systems) lacks GTIN, UCUM and the HL7nnnn family,
# which it lists literally; those are its only complaints about our messages.
KNOWN_TABLE_WARNINGS = {
    "Warning: Value GTIN not in table HL70396 in element RXA_5.CE_3",
    "Warning: Value UCUM not in table HL70396 in element RXA_7.CE_3",
    "Warning: Value HL70162 not in table HL70396 in element RXR_1.CE_3",
}


def strict_report(er7: str, tmp_path) -> list[str]:
    """Parse under STRICT validation, validate, and return hl7apy's warnings (errors raise)."""
    message = parse_message(er7, validation_level=VALIDATION_LEVEL.STRICT)
    report = tmp_path / f"report-{uuid.uuid4()}.txt"
    assert message.validate(report_file=str(report)) is True
    return [line for line in report.read_text().splitlines() if line]


def segments(er7: str) -> dict[str, list[str]]:
    """Fields of each segment by name (first occurrence), for readable assertions."""
    found = {}
    for line in er7.split("\r"):
        fields = line.split("|")
        found.setdefault(fields[0], fields)
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_matches_its_golden_file(kind):
    er7 = ras_o17(KINDS[kind], HL7_CONFIG)

    assert "\n" not in er7
    assert_golden(f"{kind}.hl7", er7.replace("\r", "\n") + "\n")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_passes_hl7apy_strict_parsing_and_validation(kind, tmp_path):
    er7 = ras_o17(KINDS[kind], HL7_CONFIG)

    warnings = strict_report(er7, tmp_path)

    assert set(warnings) <= KNOWN_TABLE_WARNINGS, warnings


@pytest.mark.parametrize("kind", KINDS)
def test_the_built_message_validates_before_serialising(kind):
    assert ras_o17_message(KINDS[kind], HL7_CONFIG).validate() is True


def test_utf8_is_declared_and_vietnamese_names_survive_the_round_trip():
    er7 = ras_o17(PARTIAL, HL7_CONFIG)

    parsed = hl7.parse(er7)
    assert str(parsed.segment("MSH")(18)) == "UNICODE UTF-8"
    assert str(parsed.segment("PID")(5)) == "Trần^Ngọc^Thị Bích^^^^L"
    assert "Morphin 10 mg/1 mL dung dịch tiêm" in er7
    assert er7.encode("utf-8").decode("utf-8") == er7


def test_segments_are_separated_by_carriage_returns_only():
    er7 = ras_o17(GIVEN, HL7_CONFIG)

    assert [line[:3] for line in er7.split("\r")] == ["MSH", "PID", "PV1", "ORC", "RXA", "RXR"]


def test_message_control_id_is_stable_short_and_the_records_own():
    first = ras_o17(GIVEN, HL7_CONFIG)
    again = ras_o17(GIVEN, replace(HL7_CONFIG, receiving_application="LIS"))

    control_id = segments(first)["MSH"][9]
    assert control_id == segments(again)["MSH"][9] == message_control_id(GIVEN.id)
    assert len(control_id) <= 20  # HL7 v2.5 ST limit of MSH-10
    assert first == ras_o17(GIVEN, HL7_CONFIG)  # no clock inside: a re-build is byte-identical


def test_order_and_record_ids_fit_the_ei_length_limit():
    orc = segments(ras_o17(GIVEN, HL7_CONFIG))["ORC"]

    assert orc[2] == short_id(GIVEN.order_id) and len(orc[2]) <= 22
    assert orc[3] == short_id(GIVEN.id) and len(orc[3]) <= 22


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        (GIVEN, "CP"),
        (PARTIAL, "PA"),
        (NOT_GIVEN, "RE"),
        (KINDS["not_given_held"], "NA"),
        (REPLACEMENT, "PA"),
    ],
)
def test_completion_status_follows_hl7_table_0322(snapshot, expected):
    assert completion_status(snapshot) == expected
    assert segments(ras_o17(snapshot, HL7_CONFIG))["RXA"][20] == expected


def test_entered_in_error_deletes_the_record_it_withdraws():
    er7 = ras_o17(ENTERED_IN_ERROR, HL7_CONFIG)
    fields = segments(er7)

    assert fields["MSH"][9] == message_control_id(ENTERED_IN_ERROR.id)
    assert fields["ORC"][3] == short_id(GIVEN.id)  # the record to delete
    assert fields["RXA"][21] == "D"
    assert fields["RXA"][20] == "CP"  # the withdrawn record's own status
    assert fields["RXA"][6] == "1000"  # and its content
    assert fields["RXA"][9].startswith("wrong_dose^Ghi sai liều^L")
    assert fields["ORC"][10].startswith("dd.lan^")  # who entered the correction


def test_a_replacement_is_a_new_record():
    fields = segments(ras_o17(REPLACEMENT, HL7_CONFIG))

    assert fields["RXA"][21] == "A"
    assert fields["ORC"][3] == short_id(REPLACEMENT.id)
    assert fields["RXA"][6] == "500"


def test_not_given_sends_zero_in_the_orders_unit_and_the_refusal_reason():
    fields = segments(ras_o17(NOT_GIVEN, HL7_CONFIG))

    assert fields["RXA"][6] == "0"
    assert fields["RXA"][7] == "mg^mg^UCUM"
    assert fields["RXA"][18] == "refused^Người bệnh từ chối^L"
    assert fields["RXR"][1] == "PO^Oral^HL70162"


def test_lots_expiries_product_and_witness_are_sent():
    fields = segments(ras_o17(PARTIAL, HL7_CONFIG))

    assert fields["RXA"][5].startswith("08936012345094^Morphin 10 mg/1 mL dung dịch tiêm^GTIN^")
    assert fields["RXA"][15] == "MOR2605B"
    assert fields["RXA"][16] == "20270531"
    assert fields["OBX"][2] == "XCN" and fields["OBX"][5] == "dd.binh^Lê Văn^Bình"


def test_delimiters_in_free_text_are_escaped_not_interpreted():
    er7 = ras_o17(PARTIAL, HL7_CONFIG)
    parsed = hl7.parse(er7)

    assert parsed.unescape(str(parsed.segment("NTE")(3))) == PARTIAL.comment
    assert len(parsed.segment("NTE")) == 4  # the | in the comment did not add fields


def test_text_longer_than_hl7apy_allows_is_clipped_not_refused(tmp_path):
    long_name = replace(GIVEN, medication_name="Thuốc " + "rất dài " * 40)

    er7 = ras_o17(long_name, HL7_CONFIG)

    assert set(strict_report(er7, tmp_path)) <= KNOWN_TABLE_WARNINGS


any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=40, deadline=None)
@given(full_name=any_text, comment=any_text, site=any_text, witness=any_text)
def test_any_text_gives_a_strictly_valid_message(full_name, comment, site, witness):
    snapshot = replace(
        PARTIAL,
        patient=replace(PARTIAL.patient, full_name=full_name),
        comment=comment,
        site=site,
        witness=replace(PARTIAL.witness, family_name=witness),
    )
    er7 = ras_o17(snapshot, HL7_CONFIG)

    # segments end only where we end them, and nothing can end the MLLP frame early
    assert [line[:3] for line in er7.split("\r")][-3:] == ["RXA", "RXR", "OBX"]
    assert not set("\n\x0b\x1c") & set(er7)

    try:
        message = parse_message(er7, validation_level=VALIDATION_LEVEL.STRICT)
        message.validate()
    except HL7apyException as error:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{error} in {er7!r}")
    assert message.msh.msh_10.to_er7() == message_control_id(PARTIAL.id)


def test_ack_round_trip():
    received = message_header(ras_o17(GIVEN, HL7_CONFIG))

    ack = ack_parse(
        ack_build(
            received, code="AE", text="Bệnh nhân không có", control_id="A1", at=GIVEN.recorded_at
        )
    )

    assert (ack.code, ack.control_id, ack.text) == ("AE", received.control_id, "Bệnh nhân không có")
    assert not ack.accepted


def test_lenient_ack_reading():
    ack = ack_parse("MSH|^~\\&|HIS||BCMA||20261124||ACK|X1|P|2.3\nMSA|CA|ABC\n")

    assert ack.accepted and ack.control_id == "ABC"


@pytest.mark.parametrize("text", ["", "garbage", "MSH|^~\\&|HIS||BCMA||20261124||ACK|X1|P|2.5"])
def test_a_reply_without_msa_is_not_an_ack(text):
    with pytest.raises(AckParseError):
        ack_parse(text)
