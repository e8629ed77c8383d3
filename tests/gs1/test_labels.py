import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

import gs1
from gs1 import labels
from scanning.barcodes import decode_image, decode_pil

SVG = "{http://www.w3.org/2000/svg}"
NAME = "Nguyễn Thị Hồng Nhung"

WRISTBAND = gs1.wristband_element_string(
    gs1.WristbandPayload(gsrn=gs1.make_gsrn("95201234567890123"), instance=2)
)
BADGE = gs1.badge_element_string(gs1.BadgePayload(gsrn=gs1.make_gsrn("95201234567890124")))
# A lot number with brackets in it: legal in GS1, and the trap for "(AI)value" encoders.
MEDICATION = gs1.medication_element_string(
    gs1.MedicationPayload(
        gtin=gs1.make_gtin("952012345678"),
        expiry=date(2027, 12, 31),
        lot="L(2)A",
        serial="SN0001",
    )
)


def wristband(fmt: str, **overrides) -> bytes:
    values = {
        "element_string": WRISTBAND,
        "full_name": NAME,
        "date_of_birth": date(1985, 9, 2),
        "mrn": "BV-000123",
        "sex": "Nữ",
    }
    return labels.wristband_label(**(values | overrides), fmt=fmt)


def badge(fmt: str, **overrides) -> bytes:
    values = {
        "element_string": BADGE,
        "full_name": "Trần Văn Đức",
        "role_title": "Điều dưỡng — Khoa Nội tim mạch",
    }
    return labels.badge_label(**(values | overrides), fmt=fmt)


def unit_dose(fmt: str, **overrides) -> bytes:
    values = {
        "element_string": MEDICATION,
        "medication_name": "Amoxicillin + Acid clavulanic",
        "strength_text": "500 mg/125 mg viên nén",
        "lot": "L(2)A",
        "expiry": date(2027, 12, 31),
    }
    return labels.unit_dose_label(**(values | overrides), fmt=fmt)


def decoded(png: bytes) -> dict[str, tuple[str, str, bool]]:
    symbols = decode_image(png, max_bytes=8 * 1024 * 1024, max_pixels=20_000_000)
    assert len({s.format for s in symbols}) == len(symbols)
    return {s.format: (s.text, s.symbology_id, s.is_gs1) for s in symbols}


def svg_root(svg: bytes) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == f"{SVG}svg"
    return root


def svg_texts(svg: bytes) -> list[str]:
    return [element.text for element in svg_root(svg).iter(f"{SVG}text")]


_TRANSFORM = re.compile(r"translate\(([\d.]+) ([\d.]+)\) scale\(([\d.]+) ([\d.]+)\)")
_RECT = re.compile(r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+Z")


def rasterize(svg: bytes) -> Image.Image:
    """Draw the SVG's barcode paths (zint's "M x y h w v h h -w Z" rectangles) at 1 dot per unit."""
    root = svg_root(svg)
    _, _, width, height = (int(v) for v in root.get("viewBox").split())
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for group in root.iter(f"{SVG}g"):
        tx, ty, sx, sy = (float(v) for v in _TRANSFORM.fullmatch(group.get("transform")).groups())
        for path in group.iter(f"{SVG}path"):
            d = path.get("d")
            assert _RECT.sub("", d) == "", "zint paths are made of rectangles only"
            for x, y, w, h in _RECT.findall(d):
                left, top = tx + float(x) * sx, ty + float(y) * sy
                right, bottom = left + float(w) * sx, top + float(h) * sy
                draw.rectangle([left, top, right - 1, bottom - 1], fill=0)
    return image


# --------------------------------------------------------------------------- PNG decodes


def test_wristband_png_carries_the_element_string_in_gs1_128_and_gs1_datamatrix():
    assert decoded(wristband("png")) == {
        "Code128": (WRISTBAND, "]C1", True),
        "DataMatrix": (WRISTBAND, "]d2", True),
    }


def test_badge_png_carries_the_element_string_in_both_symbols():
    assert decoded(badge("png")) == {
        "Code128": (BADGE, "]C1", True),
        "DataMatrix": (BADGE, "]d2", True),
    }


def test_unit_dose_png_carries_the_element_string_in_gs1_datamatrix():
    assert decoded(unit_dose("png")) == {"DataMatrix": (MEDICATION, "]d2", True)}


def test_unit_dose_without_expiry():
    element_string = gs1.medication_element_string(
        gs1.MedicationPayload(gtin=gs1.make_gtin("952012345678"), lot="A1")
    )

    png = unit_dose("png", element_string=element_string, lot="A1", expiry=None)
    svg = unit_dose("svg", element_string=element_string, lot="A1", expiry=None)

    assert decoded(png) == {"DataMatrix": (element_string, "]d2", True)}
    assert not any(text.startswith(labels.EXPIRY_CAPTION) for text in svg_texts(svg))


@pytest.mark.parametrize(
    ("render", "size"),
    [(wristband, (2953, 295)), (badge, (1011, 638)), (unit_dose, (591, 295))],
    ids=["wristband 250x25", "badge 85.6x54", "unit dose 50x25"],
)
def test_png_is_300_dpi_at_the_label_size(render, size):
    image = Image.open(io.BytesIO(render("png")))

    assert image.format == "PNG"
    assert image.size == size
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)


# --------------------------------------------------------------------------- SVG


@pytest.mark.parametrize(
    ("render", "size"),
    [(wristband, ("250mm", "25mm")), (badge, ("85.6mm", "54mm")), (unit_dose, ("50mm", "25mm"))],
    ids=["wristband", "badge", "unit dose"],
)
def test_svg_is_vector(render, size):
    root = svg_root(render("svg"))

    assert (root.get("width"), root.get("height")) == size
    assert list(root.iter(f"{SVG}path"))
    assert not list(root.iter(f"{SVG}image"))


def test_wristband_svg_holds_name_date_of_birth_mrn_and_hri_as_text():
    texts = svg_texts(wristband("svg"))

    assert texts[0] == NAME
    assert any("02/09/1985" in text and "Nữ" in text for text in texts)
    assert any("BV-000123" in text for text in texts)
    assert gs1.to_hri(WRISTBAND, separator=" ") in texts


def test_badge_and_unit_dose_svg_text():
    assert svg_texts(badge("svg"))[0] == "Trần Văn Đức"
    texts = svg_texts(unit_dose("svg"))
    assert " ".join(texts[2:4]) == "Amoxicillin + Acid clavulanic"
    assert "Lô: L(2)A" in texts
    assert "HSD: 31/12/2027" in texts


@pytest.mark.parametrize(
    ("render", "expected"),
    [
        (wristband, {"Code128": WRISTBAND, "DataMatrix": WRISTBAND}),
        (badge, {"Code128": BADGE, "DataMatrix": BADGE}),
        (unit_dose, {"DataMatrix": MEDICATION}),
    ],
    ids=["wristband", "badge", "unit dose"],
)
def test_svg_paths_decode_to_the_element_string(render, expected):
    symbols = decode_pil(rasterize(render("svg")))

    assert {s.format: s.text for s in symbols} == expected
    assert all(s.is_gs1 for s in symbols)


def test_svg_escapes_markup_in_text():
    svg = wristband("svg", full_name='Lê <Thị> & "Hà"', mrn="A&B")

    texts = svg_texts(svg)

    assert texts[0] == 'Lê <Thị> & "Hà"'
    assert any(text.endswith("A&B") for text in texts)


# --------------------------------------------------------------------------- Vietnamese text


def test_vietnamese_diacritics_render_with_real_glyphs():
    font = labels.label_font(60)
    missing = font.getmask("\U000f0000").getbbox()  # a private-use code point: the .notdef box

    for letter in "ễịồđĐươăâêôƯƠ":
        assert font.getmask(letter).getbbox() != missing, letter
    assert font.getname()[0] == "DejaVu Sans"


def test_vietnamese_name_changes_the_printed_pixels():
    with_marks = Image.open(io.BytesIO(wristband("png")))
    without_marks = Image.open(io.BytesIO(wristband("png", full_name="Nguyen Thi Hong Nhung")))

    name_area = (0, 0, labels.mm(90), labels.mm(10))
    assert with_marks.crop(name_area).tobytes() != without_marks.crop(name_area).tobytes()
    assert decoded(wristband("png"))["DataMatrix"][0] == WRISTBAND


def test_a_very_long_name_shrinks_then_ends_with_an_ellipsis_and_codes_still_read():
    long_name = " ".join(["Tôn Nữ Hoàng Thị Minh Khai"] * 12)

    texts = svg_texts(wristband("svg", full_name=long_name))

    assert texts[1].endswith("…")
    assert decoded(wristband("png", full_name=long_name)) == {
        "Code128": (WRISTBAND, "]C1", True),
        "DataMatrix": (WRISTBAND, "]d2", True),
    }


# --------------------------------------------------------------------------- single symbols


def test_gs1_128_image_has_hri_and_300_dpi():
    image = labels.gs1_128_image(MEDICATION)

    assert image.info["dpi"] == (300, 300)
    assert decode_pil(image)[0].text == MEDICATION


def test_ean13_image():
    [symbol] = decode_pil(labels.ean13_image("8934567890120"))

    assert (symbol.format, symbol.text, symbol.symbology_id) == ("EAN13", "8934567890120", "]E0")


@pytest.mark.parametrize("gtin13", ["8934567890121", "893456789012", "893456789012X"])
def test_ean13_refuses_a_bad_gtin(gtin13):
    with pytest.raises(ValueError, match=r"EAN-13|check digit"):
        labels.ean13_image(gtin13)


@pytest.mark.parametrize("element_string", ["", "hello", "0109520123456780", "8018123"])
def test_gs1_symbols_refuse_what_is_not_an_element_string(element_string):
    with pytest.raises(ValueError):
        labels.gs1_datamatrix_image(element_string)
    with pytest.raises(ValueError):
        labels.gs1_128_image(element_string)


def test_unknown_output_format_is_refused():
    with pytest.raises(ValueError, match="png"):
        wristband("pdf")


AI82 = st.text(
    alphabet=st.sampled_from(
        "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=30, deadline=None)
@given(lot=AI82, serial=AI82, expiry=st.dates(date(2000, 1, 1), date(2049, 12, 31)))
def test_any_medication_element_string_round_trips_through_datamatrix(lot, serial, expiry):
    element_string = gs1.medication_element_string(
        gs1.MedicationPayload(
            gtin=gs1.make_gtin("893456789012"), expiry=expiry, lot=lot, serial=serial
        )
    )

    [symbol] = decode_pil(labels.gs1_datamatrix_image(element_string, module=4))

    assert (symbol.text, symbol.symbology_id, symbol.is_gs1) == (element_string, "]d2", True)


@pytest.mark.parametrize(
    ("render", "element_string"),
    [(wristband, MEDICATION), (badge, WRISTBAND), (unit_dose, BADGE)],
    ids=["drug code on a wristband", "wristband code on a badge", "badge code on a drug"],
)
def test_a_label_refuses_another_kinds_code(render, element_string):
    with pytest.raises(ValueError, match="cannot carry"):
        render("png", element_string=element_string)


@pytest.mark.parametrize(
    "overrides",
    [{"lot": "L(2)B"}, {"expiry": date(2028, 1, 31)}, {"expiry": None}],
    ids=["other lot", "other expiry", "no expiry"],
)
def test_unit_dose_text_must_match_its_code(overrides):
    with pytest.raises(ValueError, match="the code says"):
        unit_dose("png", **overrides)


# --- the GS1 text a nurse can type when the code will not scan (issue 13, item 7) -------------


@pytest.mark.parametrize(
    ("render", "element_string"),
    [(wristband, WRISTBAND), (badge, BADGE), (unit_dose, MEDICATION)],
    ids=["wristband", "badge", "unit dose"],
)
def test_every_label_prints_its_gs1_text_whole_and_legible(render, element_string):
    hri = labels.label_hri(element_string)
    texts = [
        (element.text, int(element.get("font-size")))
        for element in svg_root(render("svg")).iter(f"{SVG}text")
        if element.text.startswith("(")
    ]

    assert " ".join(text for text, _size in texts) == hri
    assert all(size >= labels.mm(2.0) for _text, size in texts), texts


def test_the_printed_gs1_text_reads_back_as_the_code():
    assert labels.label_hri(MEDICATION) == ("(01)09520123456788 (17)271231 (10)L(2)A (21)SN0001")
    for element_string in (WRISTBAND, BADGE, MEDICATION):
        typed = gs1.parse_scan(labels.label_hri(element_string))
        assert typed.payload == gs1.parse_scan(element_string, symbology_id="]d2").payload


LONGEST = gs1.medication_element_string(
    gs1.MedicationPayload(
        gtin=gs1.make_gtin("952012345678"),
        expiry=date(2027, 12, 31),
        lot="L" * 20,
        serial="S" * 20,
    )
)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_the_longest_legal_code_still_prints_whole_and_reads(fmt):
    label = unit_dose(fmt, element_string=LONGEST, lot="L" * 20)

    if fmt == "svg":
        texts = [t for t in svg_texts(label) if t.startswith("(")]
        assert " ".join(texts) == labels.label_hri(LONGEST)
    else:
        assert decoded(label)["DataMatrix"][0] == LONGEST


def test_a_code_that_cannot_be_printed_legibly_is_refused_not_cut():
    with pytest.raises(ValueError, match="legible"):
        labels._fit_hri(labels.label_hri(LONGEST), max_width=labels.mm(30), max_lines=2)
