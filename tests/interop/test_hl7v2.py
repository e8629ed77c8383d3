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
    ROUTES,
    AckParseError,
    Hl7MappingError,
    ack_build,
    ack_parse,
    completion_status,
    message_control_id,
    message_header,
    ras_o17,
    ras_o17_message,
)
from interop.ids import short_id
from pharmacy.assessments import ASSESSMENT_KINDS
from tests.interop.conftest import (
    ENTERED_IN_ERROR,
    GIVEN,
    HELD,
    HL7_CONFIG,
    KINDS,
    NOT_GIVEN,
    PARTIAL,
    PATCH_APPLIED,
    PATCH_REMOVED,
    REPLACEMENT,
)
from tests.interop.golden import assert_golden

# hl7apy's copy of HL7 table 0396 (coding systems) lacks GTIN, UCUM and the HL7nnnn family,
# which it lists literally; those are its only complaints about our messages.
KNOWN_TABLE_WARNINGS = {
    "Warning: Value 99GS1 not in table HL70396 in element RXA_5.CE_3",
    "Warning: Value 99GS1 not in table HL70396 in element RXA_25.CWE_3",
    "Warning: Value UCUM not in table HL70396 in element RXA_7.CE_3",
    "Warning: Value HL70162 not in table HL70396 in element RXR_1.CE_3",
    "Warning: Value HL70163 not in table HL70396 in element RXR_2.CWE_3",
    "Warning: Value UCUM not in table HL70396 in element OBX_6.CE_3",  # the unit of a waste
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
    assert_golden(f"{kind}.hl7", er7.replace("\r", "\n"))


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


def test_every_segment_ends_with_a_carriage_return_the_last_one_too():
    er7 = ras_o17(GIVEN, HL7_CONFIG)

    assert er7.endswith("RXR|PO^Oral^HL70162\r")
    assert [line[:3] for line in er7.split("\r")] == ["MSH", "PID", "PV1", "ORC", "RXA", "RXR", ""]


@pytest.mark.parametrize("kind", KINDS)
def test_python_hl7_reads_every_kind(kind):
    parsed = hl7.parse(ras_o17(KINDS[kind], HL7_CONFIG))

    snapshot = KINDS[kind]
    message_id = snapshot.waste_update or (snapshot.removed.id if snapshot.removed else snapshot.id)
    assert str(parsed.segment("MSH")(10)) == message_control_id(message_id)
    products = {unit.gtin for unit in snapshot.clinical.units} | {snapshot.medication_code}
    assert str(parsed.segment("RXA")(5)(1)(1)) in products
    measured = [
        (str(obx(3)(1)(1)), str(obx(3)(1)(3)), str(obx(5)), str(obx(6)(1)(1)))
        for obx in parsed
        if str(obx(0)) == "OBX" and str(obx(3)(1)(3)) == "LN"
    ]
    assert measured == [
        (ASSESSMENT_KINDS[m.kind].loinc, "LN", f"{m.value.normalize():f}", m.unit)
        for m in snapshot.clinical.assessments
    ]


def test_the_values_measured_before_a_held_dose_go_out_as_loinc_obx():
    er7 = ras_o17(KINDS["metoprolol_held_heart_rate"], HL7_CONFIG)

    obx = "OBX|1|NM|8867-4^Heart rate^LN||52|/min^/min^UCUM|||||F|||20261124081000+0700"
    assert f"\r{obx}\r" in er7
    assert segments(er7)["RXA"][9] == "held_clinical^tạm hoãn vì lý do lâm sàng^L"


def test_message_control_id_is_stable_short_and_the_records_own():
    first = ras_o17(GIVEN, HL7_CONFIG)
    again = ras_o17(GIVEN, replace(HL7_CONFIG, receiving_application="LIS"))

    control_id = segments(first)["MSH"][9]
    assert control_id == segments(again)["MSH"][9] == message_control_id(GIVEN.id)
    assert len(control_id) <= 20  # HL7 v2.5 ST limit of MSH-10
    assert first == ras_o17(GIVEN, HL7_CONFIG)  # no clock inside: a re-build is byte-identical


def test_the_his_order_and_visit_numbers_go_back_unchanged():
    fields = segments(ras_o17(GIVEN, HL7_CONFIG))

    assert fields["ORC"][2] == "YL2026112400017"  # placer: the HIS's own order number
    assert fields["ORC"][3] == "KD-88412"  # filler
    assert fields["PV1"][19] == "VV2026-004512"  # the HIS's visit number


def test_orders_and_admissions_typed_in_the_pharmacy_carry_our_numbers_marked_as_ours():
    fields = segments(ras_o17(PARTIAL, HL7_CONFIG))

    # EI-2 / CX-4 name the assigning system: ours (MSH-3), never the HIS's
    ours = f"{short_id(PARTIAL.order_id)}^BCMA"
    assert fields["ORC"][2] == fields["ORC"][3] == ours
    assert fields["PV1"][19] == f"{short_id(PARTIAL.encounter_id)}^^^BCMA"
    assert len(short_id(PARTIAL.order_id)) <= 22


def test_rxa_2_counts_the_administrations_of_the_order():
    assert segments(ras_o17(GIVEN, HL7_CONFIG))["RXA"][2] == "3"
    assert segments(ras_o17(HELD, HL7_CONFIG))["RXA"][2] == "5"
    # a withdrawal names the administration it withdraws: the same order numbers and RXA-2
    withdrawal = segments(ras_o17(ENTERED_IN_ERROR, HL7_CONFIG))
    assert (withdrawal["ORC"][2], withdrawal["ORC"][3], withdrawal["RXA"][2]) == (
        "YL2026112400017",
        "KD-88412",
        "3",
    )


def test_the_product_is_coded_gs1_with_the_formulary_code_as_the_alternate():
    rxa = segments(ras_o17(GIVEN, HL7_CONFIG))["RXA"]

    assert rxa[5] == (
        "08936012345001^Paracetamol 500 mg viên nén^99GS1"
        "^paracetamol-500-tab^Paracetamol 500 mg viên nén^L"
    )


def test_a_dose_not_given_names_the_formulary_code_alone():
    rxa = segments(ras_o17(NOT_GIVEN, HL7_CONFIG))["RXA"]

    assert rxa[5] == "paracetamol-500-tab^Paracetamol 500 mg viên nén^L"


def test_a_formulary_code_longer_than_ce_1_allows_is_refused_not_cut():
    with pytest.raises(Hl7MappingError):
        ras_o17(replace(GIVEN, medication_code="paracetamol-500-tab-x"), HL7_CONFIG)


def test_a_replacement_keeps_its_product_lot_and_expiry():
    rxa = segments(ras_o17(REPLACEMENT, HL7_CONFIG))["RXA"]

    assert rxa[5].startswith("08936012345001^")
    assert (rxa[15], rxa[16]) == ("PCM2611A", "20261130")


def test_prn_indication_partial_reason_and_barcode_are_sent():
    rxa = segments(ras_o17(PARTIAL, HL7_CONFIG))["RXA"]

    assert rxa[9] == "PATIENT_REFUSED_PART^Người bệnh từ chối một phần^L"
    assert rxa[19] == "^Đau nhiều (VAS ≥ 7)"
    # keyed, not scanned: no barcode to report
    assert len(rxa) <= 25 or rxa[25] == ""
    scanned = segments(ras_o17(GIVEN, HL7_CONFIG))["RXA"]
    assert (
        scanned[25]
        == "08936012345001^^99GS1^^^^^^(01)08936012345001(17)261130(10)PCM2611A(21)PCM2611AS001"
    )


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
    assert fields["RXA"][2] == "3"  # the administration to delete, within the order
    assert fields["RXA"][21] == "D"
    assert fields["RXA"][20] == "CP"  # the withdrawn record's own status
    assert fields["RXA"][6] == "1000"  # and its content
    assert fields["RXA"][9].startswith("wrong_dose^Ghi sai liều^L")
    assert fields["ORC"][10].startswith("dd.lan^")  # who entered the correction


def test_a_replacement_is_a_new_record():
    fields = segments(ras_o17(REPLACEMENT, HL7_CONFIG))

    assert fields["RXA"][21] == "A"
    assert fields["RXA"][2] == "6"
    assert fields["RXA"][6] == "500"


def test_not_given_sends_zero_in_the_orders_unit_and_the_refusal_reason():
    fields = segments(ras_o17(NOT_GIVEN, HL7_CONFIG))

    assert fields["RXA"][6] == "0"
    assert fields["RXA"][7] == "mg^mg^UCUM"
    assert fields["RXA"][18] == "refused^Người bệnh từ chối^L"
    assert fields["RXR"][1] == "PO^Oral^HL70162"


def test_lots_expiries_product_and_witness_are_sent():
    fields = segments(ras_o17(PARTIAL, HL7_CONFIG))

    assert fields["RXA"][5].startswith("08936012345094^Morphin 10 mg/1 mL dung dịch tiêm^99GS1^")
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
    assert [line[:3] for line in er7.split("\r")][-4:] == ["RXA", "RXR", "OBX", ""]
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

    # a commit ACK says the receiver stored the message, not that its application took it
    assert (ack.code, ack.control_id, ack.accepted) == ("CA", "ABC", False)


@pytest.mark.parametrize("text", ["", "garbage", "MSH|^~\\&|HIS||BCMA||20261124||ACK|X1|P|2.5"])
def test_a_reply_without_msa_is_not_an_ack(text):
    with pytest.raises(AckParseError):
        ack_parse(text)


@pytest.mark.parametrize("route", ["IT", "EP", "ID", "VG", "TD", "OT", "NS", "IA"])
def test_every_route_of_table_0162_we_added_is_sent_with_its_display(route, tmp_path):
    er7 = ras_o17(replace(GIVEN, route=route), HL7_CONFIG)

    rxr = segments(er7)["RXR"]
    assert rxr[1].split("^")[:3] == [route, ROUTES[route], "HL70162"]
    assert set(strict_report(er7, tmp_path)) <= KNOWN_TABLE_WARNINGS


def test_every_route_has_an_hl7_display():
    from pharmacy.models import Route

    assert set(ROUTES) == set(Route.values)


def test_a_patch_goes_out_with_its_coded_site():
    fields = segments(ras_o17(PATCH_APPLIED, HL7_CONFIG))

    assert fields["RXR"][1:3] == ["TD^Transdermal^HL70162", "LUA^Left Upper Arm^HL70163"]
    assert fields["RXA"][21] == "A"


def test_a_removal_updates_the_record_that_applied_the_patch():
    applied = segments(ras_o17(PATCH_APPLIED, HL7_CONFIG))
    removed = segments(ras_o17(PATCH_REMOVED, HL7_CONFIG))

    # its own message id, the same order numbers and administration number: an update
    assert removed["MSH"][9] == message_control_id(PATCH_REMOVED.removed.id) != applied["MSH"][9]
    assert removed["ORC"][2:4] == applied["ORC"][2:4]
    assert removed["RXA"][2] == applied["RXA"][2]
    assert removed["RXA"][21] == "U"
    # applied at RXA-3, removed at RXA-4 (the end of the administration), REMOVED in RXA-9
    assert removed["RXA"][3] == applied["RXA"][3] == "20261124081000+0700"
    assert removed["RXA"][4] == "20261127080500+0700"
    assert removed["RXA"][9].startswith("REMOVED^")


def test_old_free_text_sites_still_go_out_as_text():
    fields = segments(ras_o17(replace(PATCH_APPLIED, site="vai trái"), HL7_CONFIG))

    assert fields["RXR"][2] == "^vai trái"
