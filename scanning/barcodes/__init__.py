"""Barcode images in, decoded symbols out. Pure: no ORM, no settings."""

from scanning.barcodes.decode import (
    DECODE_DEADLINE_SECONDS,
    DecodedSymbol,
    ImageRejected,
    decode_image,
    decode_pil,
    load_image,
    pyzbar_available,
)

__all__ = [
    "DECODE_DEADLINE_SECONDS",
    "DecodedSymbol",
    "ImageRejected",
    "decode_image",
    "decode_pil",
    "load_image",
    "pyzbar_available",
]
