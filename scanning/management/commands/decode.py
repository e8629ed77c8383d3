"""``manage.py decode IMAGE...``: one JSON line per image with every barcode found in it."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gs1 import parse_scan
from scanning.barcodes import DecodedSymbol, ImageRejected, decode_image, pyzbar_available


class Command(BaseCommand):
    help = (
        "Decode the barcodes in image files. Prints one JSON line per file: the symbols found, "
        "each read as a wristband, badge or medication, or the reason the file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="+", metavar="IMAGE")

    def handle(self, *args, **options):
        if not pyzbar_available():
            self.stderr.write(
                "warning: libzbar0 is not installed; decoding with zxing-cpp alone "
                "(apt-get install --no-install-recommends libzbar0)"
            )
        failures = 0
        for path in options["images"]:
            line = self._decode_file(path)
            failures += "error" in line
            self.stdout.write(json.dumps(line, ensure_ascii=False))
        if failures:
            raise CommandError(f"{failures} of {len(options['images'])} images could not be read")

    def _decode_file(self, path: str) -> dict:
        max_bytes = settings.BARCODE_MAX_IMAGE_BYTES
        try:
            data = _read_at_most(Path(path), max_bytes + 1)
            symbols = decode_image(
                data,
                max_bytes=max_bytes,
                max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
                deadline=settings.BARCODE_DECODE_DEADLINE_SECONDS,
            )
        except OSError as exc:
            return {"file": path, "error": {"code": "FILE_UNREADABLE", "message": str(exc)}}
        except ImageRejected as exc:
            return {"file": path, "error": {"code": exc.code, "message": exc.message}}
        return {"file": path, "symbols": [_describe(symbol) for symbol in symbols]}


def _read_at_most(path: Path, limit: int) -> bytes:
    # One byte over the limit is enough for decode_image to refuse it; no need to read 4 GB.
    with path.open("rb") as file:
        return file.read(limit)


def _describe(symbol: DecodedSymbol) -> dict:
    scan = parse_scan(symbol.text, symbology_id=symbol.symbology_id, is_gs1=symbol.is_gs1)
    parsed = scan.as_dict()
    return {
        "format": symbol.format,
        "text": symbol.text,
        "symbology_id": symbol.symbology_id,
        "is_gs1": symbol.is_gs1,
        "engine": symbol.engine,
        "kind": parsed["kind"],
        "gs1": parsed["gs1"],
        "payload": parsed["payload"],
        "error": parsed["error"],
    }
