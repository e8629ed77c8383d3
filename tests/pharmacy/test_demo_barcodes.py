import json

import pytest
from django.conf import settings

import gs1
from pharmacy.demo import demo_barcodes_write
from scanning.barcodes import decode_image

FIXTURES = settings.BASE_DIR / "fixtures" / "barcodes"
INDEX = json.loads((FIXTURES / "index.json").read_text(encoding="utf-8"))
PNGS = sorted(name for name in INDEX if name.endswith(".png"))


@pytest.mark.parametrize("name", PNGS)
def test_every_printed_fixture_decodes_to_its_payload(name):
    # given
    expected = INDEX[name]
    # when
    symbols = decode_image((FIXTURES / name).read_bytes(), max_bytes=8 << 20, max_pixels=20_000_000)
    # then
    assert symbols, f"{name} did not decode"
    for symbol in symbols:
        parsed = gs1.parse_scan(symbol.text, symbology_id=symbol.symbology_id, is_gs1=symbol.is_gs1)
        assert parsed.kind == expected["kind"]
        assert symbol.text == expected["element_string"]


def test_committed_fixtures_match_the_demo_definition(tmp_path):
    regenerated = demo_barcodes_write(tmp_path)
    assert regenerated == INDEX
    assert len(regenerated) >= 150
