"""Read printed PDFs back as a printer and a scanner would: page sizes, 300-dpi rasters, the
barcodes the project's own decoder finds in them, and their text."""

from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image

import gs1
from scanning.barcodes.decode import decode_pil

POINTS_PER_MM = 72 / 25.4
DPI = 300


@dataclass
class Page:
    width_mm: float
    height_mm: float
    width_pt: float
    height_pt: float
    text: str
    image: Image.Image | None


def read_pdf(
    content: bytes, *, render: bool = True, dpi: int = DPI, thermal: bool = False
) -> list[Page]:
    """Each page's size and text and, with ``render``, its raster at ``dpi``: anti-aliased
    grey as a viewer draws it, or pure black and white as a thermal head prints it."""
    assert content.startswith(b"%PDF-"), content[:40]
    document = pdfium.PdfDocument(content)
    try:
        pages = []
        for page in document:
            width, height = page.get_size()
            text_page = page.get_textpage()
            text = text_page.get_text_range()
            text_page.close()
            image = None
            if render:
                image = page.render(
                    scale=dpi / 72, grayscale=True, no_smoothpath=thermal, no_smoothtext=thermal
                ).to_pil()
                if thermal:
                    image = image.point(lambda value: 0 if value < 128 else 255)
            pages.append(
                Page(
                    width_mm=width / POINTS_PER_MM,
                    height_mm=height / POINTS_PER_MM,
                    width_pt=width,
                    height_pt=height,
                    text=text,
                    image=image,
                )
            )
            page.close()
        return pages
    finally:
        document.close()


def scans(page: Page) -> dict[str, gs1.ParsedScan]:
    """Every symbol on the page by format, parsed as the bedside parses a camera image."""
    symbols = decode_pil(page.image)
    assert len({symbol.format for symbol in symbols}) == len(symbols), symbols
    return {
        symbol.format: gs1.parse_scan(
            symbol.text, symbology_id=symbol.symbology_id, is_gs1=symbol.is_gs1
        )
        for symbol in symbols
    }


def assert_size_mm(page: Page, width_mm: float, height_mm: float) -> None:
    assert abs(page.width_pt - width_mm * POINTS_PER_MM) <= 0.5, page.width_pt
    assert abs(page.height_pt - height_mm * POINTS_PER_MM) <= 0.5, page.height_pt


def pdf_text(content: bytes) -> str:
    return "\n".join(page.text for page in read_pdf(content, render=False))
