"""The last resort for linear codes (scanning/barcodes/scanlines.py): found at any angle, turned
upright, read one averaged scanline at a time after undoing blur, and accepted only when the
scanlines agree. Real images through the real engines; the agreement rule also with a stub."""

from dataclasses import dataclass
from datetime import date

import pytest
from PIL import Image, ImageFilter

import gs1
from bench import degrade
from gs1 import labels
from scanning.barcodes import decode as decode_module
from scanning.barcodes import decode_pil, scanlines

MEDICATION = gs1.medication_element_string(
    gs1.MedicationPayload(
        gtin=gs1.make_gtin("952012345678"), expiry=date(2027, 12, 31), lot="AB12", serial="S1"
    )
)
EAN13 = "8934567890120"


def on_white(image: Image.Image, margin: int = 40) -> Image.Image:
    page = Image.new("L", (image.width + 2 * margin, image.height + 2 * margin), 255)
    page.paste(image, (margin, margin))
    return page


def engines_alone(image: Image.Image) -> list:
    return decode_module.decode_with_zxing(image) + decode_module.decode_with_zbar(image)


@pytest.mark.parametrize("sigma", [1.5, 1.8])
def test_a_gs1_128_blurred_past_both_engines_is_read_with_its_payload(sigma):
    # given: 2 px modules (a label a little under half its print size), blurred by σ ≈ 0.8-0.9 X
    image = on_white(labels.gs1_128_image(MEDICATION, module=2, bar_height=90))
    blurred = image.filter(ImageFilter.GaussianBlur(sigma))
    assert engines_alone(blurred) == []

    # when
    symbols = decode_pil(blurred)

    # then
    assert [(s.format, s.text, s.symbology_id, s.is_gs1) for s in symbols] == [
        ("Code128", MEDICATION, "]C1", True)
    ]


def test_an_ean13_smeared_by_motion_across_its_bars_is_read():
    # given
    image = on_white(labels.ean13_image(EAN13, module=2))
    smeared = degrade.motion_blur(image, length=5.0, degrees=10.0)
    assert engines_alone(smeared) == []

    # when
    symbols = decode_pil(smeared)

    # then
    assert [s.text for s in symbols] == [EAN13]


@pytest.mark.parametrize("roll", [-25.0, 30.0])
def test_a_code_curved_round_a_wrist_and_seen_askew_is_read(roll):
    # given: the whole code on a cylinder, the camera rolled: no row of the image crosses it
    image = on_white(labels.gs1_128_image(MEDICATION, module=2, bar_height=50), margin=20)
    curved = degrade.cylinder(image, axis=0.5, radius=0.6)
    askew = degrade.rotate(curved, degrees=roll)
    assert engines_alone(askew) == []

    # when
    symbols = decode_pil(askew)

    # then
    assert [s.text for s in symbols] == [MEDICATION]


@pytest.mark.parametrize("roll", [-33.0, 7.0, 62.0])
def test_a_candidate_is_turned_upright_to_within_a_fraction_of_a_degree(roll):
    # given
    image = on_white(labels.ean13_image(EAN13, module=3))
    askew = degrade.rotate(image, degrees=roll)

    # when
    [strip, *_] = scanlines.candidate_strips(askew)

    # then: Pillow turns counter-clockwise, image y points down, so the bars' normal is at -roll
    assert abs(strip.angle + roll) < 0.3
    assert [s.text for s in decode_module.decode_with_zxing(strip.image)] == [EAN13]


def test_two_different_codes_stacked_in_one_strip_give_neither():
    # given: the top half of the bars says one thing and the bottom half another, so each text
    # is read from one band of rows only
    top = labels.gs1_128_image(MEDICATION, module=2, bar_height=60)
    other = gs1.medication_element_string(
        gs1.MedicationPayload(
            gtin=gs1.make_gtin("952012345679"),
            expiry=date(2027, 12, 31),
            lot="AB13",
            serial="S2",
        )
    )
    bottom = labels.gs1_128_image(other, module=2, bar_height=60)
    width = max(top.width, bottom.width)
    strip = Image.new("L", (width + 80, 80), 255)
    strip.paste(top.crop((0, 0, top.width, 40)), (40, 0))
    strip.paste(bottom.crop((0, 0, bottom.width, 40)), (40, 40))

    # when
    symbol = scanlines.read_profiles(strip, decode_module._read_bars)

    # then
    assert symbol is None


@dataclass(frozen=True)
class Symbol:
    format: str
    text: str


class Reader:
    """Answers ``texts[call]`` to each call: the calls run blur by blur, band by band, the local
    threshold then the global one, so calls 0 and 2 are bands 0 and 1 of the first guess."""

    def __init__(self, texts: dict[int, Symbol]) -> None:
        self.texts = texts
        self.calls = 0

    def __call__(self, bars) -> list[Symbol]:
        answer = self.texts.get(self.calls)
        self.calls += 1
        return [answer] if answer else []


BARS = on_white(labels.ean13_image(EAN13, module=3))


def test_a_text_two_bands_agree_on_is_accepted():
    reader = Reader({0: Symbol("EAN13", EAN13), 2: Symbol("EAN13", EAN13)})

    assert scanlines.read_profiles(BARS, reader) == Symbol("EAN13", EAN13)
    assert reader.calls == 2 * len(scanlines.BANDS) * len(scanlines.DEBLUR_LADDER)


def test_a_text_from_one_band_only_is_not():
    reader = Reader({0: Symbol("EAN13", EAN13), 1: Symbol("EAN13", EAN13)})

    assert scanlines.read_profiles(BARS, reader) is None


def test_an_agreed_text_is_dropped_when_another_guess_reads_a_different_one():
    # given: two bands agree, but a later guess of blur reads another EAN-13: one of them is
    # wrong, and which one is unknown
    reader = Reader(
        {0: Symbol("EAN13", EAN13), 2: Symbol("EAN13", EAN13), 40: Symbol("EAN13", "8934567890137")}
    )

    assert scanlines.read_profiles(BARS, reader) is None


def test_two_agreed_texts_of_different_formats_give_neither():
    reader = Reader(
        {
            0: Symbol("EAN13", EAN13),
            2: Symbol("EAN13", EAN13),
            4: Symbol("Code128", "BN2026000101"),
            6: Symbol("Code128", "BN2026000101"),
        }
    )

    assert scanlines.read_profiles(BARS, reader) is None


def test_a_frame_without_bars_has_no_candidates():
    assert scanlines.candidate_strips(Image.new("L", (640, 480), 200)) == []
    assert scanlines.candidate_strips(Image.new("L", (20, 20), 0)) == []
