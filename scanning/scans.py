"""What the cart sent → what it is. Text from a wedge scanner and images from a camera resolve to
the same `ResolvedScan`. Pure: limits and the GS substitute are passed in."""

from dataclasses import dataclass, field

from django.utils.translation import gettext

import gs1
from hospital.exceptions import ApplicationError
from scanning.barcodes import DECODE_DEADLINE_SECONDS, ImageRejected, decode_image

MAX_RAW_AUDIT = 500  # characters of the raw payload kept in the scan event
# C0 controls but GS: PostgreSQL's JSONB cannot store NUL, and none of them belongs in a barcode we use.
_CONTROL = {code: "\ufffd" for code in range(32) if code != 0x1D}


def printable(text: str) -> str:
    return text[:MAX_RAW_AUDIT].translate(_CONTROL)


class ScanInputError(ApplicationError):
    status = 400
    code = "INVALID_SCAN"


@dataclass(frozen=True)
class ScanInput:
    code: str | None = None
    image: bytes | None = None
    keyed: bool = False


@dataclass(frozen=True)
class ResolvedScan:
    parsed: tuple[gs1.ParsedScan, ...]  # one per distinct symbol (an image may hold several)
    keyed: bool
    raw: str
    source: str  # "text" | "image"
    formats: tuple[str, ...] = field(default_factory=tuple)

    def distinct(self, kind: str) -> int:
        return len({scan.payload for scan in self.parsed if scan.kind == kind})

    def first(self, kind: str) -> gs1.ParsedScan | None:
        return next((scan for scan in self.parsed if scan.kind == kind), None)

    def first_payload[P: gs1.Payload](self, payload_type: type[P]) -> P | None:
        """What `first` finds, typed: `first_payload(gs1.BadgePayload)` is the payload of
        `first("badge")` (a kind always comes with its own payload type)."""
        return next(
            (scan.payload for scan in self.parsed if isinstance(scan.payload, payload_type)), None
        )

    @property
    def kind(self) -> str:
        """The slot-level kind: what this scan is, preferring a recognised payload."""
        kinds = [scan.kind for scan in self.parsed if scan.kind != "unknown"]
        return kinds[0] if kinds else "unknown"

    def audit(self, slot: str) -> dict:
        return {
            "slot": slot,
            "source": self.source,
            "raw": printable(self.raw),
            "keyed": self.keyed,
            "symbols": [
                {
                    "kind": scan.kind,
                    "text": printable(scan.text),
                    "symbology_id": scan.symbology_id,
                    "error": scan.error_code,
                }
                for scan in self.parsed
            ],
        }


def image_rejected_error(rejected: ImageRejected) -> ScanInputError:
    """Too big (in bytes, pixels or decoding time) is 413; anything else wrong with an image is 400."""
    too_big = rejected.code in (
        ImageRejected.TOO_LARGE,
        ImageRejected.TOO_MANY_PIXELS,
        ImageRejected.DECODE_TIMEOUT,
    )
    return ScanInputError(rejected.message, code=rejected.code, status=413 if too_big else 400)


def scan_resolve(
    scan: ScanInput,
    *,
    max_bytes: int,
    max_pixels: int,
    gs_substitute: str = "",
    deadline: float | None = DECODE_DEADLINE_SECONDS,
) -> ResolvedScan:
    if scan.image is not None:
        try:
            symbols = decode_image(
                scan.image, max_bytes=max_bytes, max_pixels=max_pixels, deadline=deadline
            )
        except ImageRejected as rejected:
            raise image_rejected_error(rejected) from rejected
        parsed = _distinct(
            gs1.parse_scan(symbol.text, symbology_id=symbol.symbology_id, is_gs1=symbol.is_gs1)
            for symbol in symbols
        )
        if not parsed:
            raise ScanInputError(
                gettext("No barcode could be read in the image."), code="NO_BARCODE_FOUND"
            )
        return ResolvedScan(
            parsed=parsed,
            keyed=False,
            raw=f"<image {len(scan.image)} bytes>",
            source="image",
            formats=tuple(symbol.format for symbol in symbols),
        )
    code = scan.code if scan.code is not None else ""
    if not code.strip():
        raise ScanInputError(gettext("The scan is empty."), code="EMPTY_SCAN")
    parsed = gs1.parse_scan(code, gs_substitute=gs_substitute or None)
    return ResolvedScan(parsed=(parsed,), keyed=scan.keyed, raw=code, source="text")


def _distinct(scans) -> tuple[gs1.ParsedScan, ...]:
    """A label prints the same payload twice (GS1-128 and DataMatrix): count it once."""
    seen, result = set(), []
    for scan in scans:
        key = (scan.kind, scan.payload) if scan.payload is not None else (scan.kind, scan.text)
        if key not in seen:
            seen.add(key)
            result.append(scan)
    return tuple(result)
