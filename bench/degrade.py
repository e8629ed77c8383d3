"""Degraded photographs of the demo barcodes, made from the clean printable fixtures.

``bench.decode`` and ``tests/scanning/test_decode_rate.py`` read what this writes to
``fixtures/degraded/``. Rebuild it with::

    .venv/bin/python -m bench.degrade [--out DIR] [--seed N]

Pillow, NumPy (integer and float64 sums in a fixed order) and a seeded ``random.Random`` only, so
the same seed gives byte-identical files (zlib and libjpeg are deterministic at fixed settings).
Each degradation is a function from an 8-bit grayscale image to another; those that need chance
take a ``seed`` keyword.

The set has two groups. ``base`` is the first set (the four printed labels under thirteen
degradations). ``hard`` was added for the misses of an outside set: heavy Gaussian and motion
blur, tighter curvature, and curved labels seen rolled or tilted, on every label and on two
linear-only ones (the wristband's GS1-128 alone, and a plain Code 128 of the MRN as a HIS prints
it), where no DataMatrix beside the bars can rescue the read.

Before degrading, each label is cropped to the part a nurse aims the camera at and "captured"
at 0.42-0.62 × its 300 dpi print size (drawn per image), about what a cart camera resolves at
reading distance: the narrowest bar of a linear code is then 1.7-2.5 px and a DataMatrix module
4-7 px, so a blur of one or two pixels matters as it does in real frames.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
CLEAN_DIR = ROOT / "fixtures" / "barcodes"
DEGRADED_DIR = ROOT / "fixtures" / "degraded"
DEFAULT_SEED = 2026

CAPTURE_SCALE = (0.42, 0.62)
BLUR_LIGHT = 0.8
BLUR_HEAVY = 1.3
NOISE_SIGMA = 32
# Beyond "heavy": σ of 0.55 to 1.1 narrow bars at the capture scales above.
BLUR_SEVERE = (1.4, 1.9)
# A hand or a vial moving during a 1/30 s exposure, in pixels of the captured image.
MOTION_LENGTH = (3.0, 6.0)
# A camera held askew to the wrist or vial, either way.
ROLL_DEGREES = (8.0, 35.0)
FRAME_SIZE = (640, 480)
WHITE = 255

Degradation = Callable[..., Image.Image]


# --------------------------------------------------------------------------- degradations


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible pictures, not secrets


def gaussian_blur(image: Image.Image, *, radius: float) -> Image.Image:
    """Out of focus or moving: Pillow's Gaussian, ``radius`` being its standard deviation in px."""
    return image.filter(ImageFilter.GaussianBlur(radius))


def rotate(image: Image.Image, *, degrees: float) -> Image.Image:
    """Counter-clockwise on white paper; quarter turns are exact."""
    quarter_turns = {
        90: Image.Transpose.ROTATE_90,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_270,
    }
    if degrees % 360 in quarter_turns:
        return image.transpose(quarter_turns[degrees % 360])
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE)


def glare(image: Image.Image, *, seed: int, strength: float = 1.15) -> Image.Image:
    """A ceiling light on a laminated band: a soft white ellipse, saturated at its core.

    ``strength`` above 1 clips the middle of the ellipse to pure white, as a camera does.
    """
    rng = _rng(seed)
    width, height = image.size
    reach = math.sqrt(width * height) * rng.uniform(0.22, 0.34)
    centre_x = width * rng.uniform(0.35, 0.7)
    centre_y = height * rng.uniform(0.3, 0.7)
    half_x, half_y = reach * 1.5, reach * 0.75
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse(
        (centre_x - half_x, centre_y - half_y, centre_x + half_x, centre_y + half_y), fill=255
    )
    mask = mask.filter(ImageFilter.GaussianBlur(reach * 0.4))
    mask = mask.point(lambda v: min(255, round(v * strength)))
    return Image.composite(Image.new("L", image.size, WHITE), image, mask)


def motion_blur(image: Image.Image, *, length: float, degrees: float) -> Image.Image:
    """The camera or the label moving during the exposure: a straight smear ``length`` px long.

    ``degrees`` is the direction of the movement, counter-clockwise from the x axis: along the
    bars of a linear code it costs little, across them it merges the narrow bars.
    """
    kernel = _line_kernel(length, degrees)
    pixels = np.asarray(image, dtype=np.float64)
    reach = kernel.shape[0] // 2
    padded = np.pad(pixels, reach, mode="edge")
    height, width = pixels.shape
    smeared = np.zeros_like(pixels)
    for dy, dx in zip(*np.nonzero(kernel), strict=True):
        smeared += kernel[dy, dx] * padded[dy : dy + height, dx : dx + width]
    return Image.fromarray(np.clip(np.rint(smeared), 0, 255).astype(np.uint8), mode="L")


def _line_kernel(length: float, degrees: float) -> np.ndarray:
    """A normalised, anti-aliased segment: 256 points along it, each shared over 4 pixels."""
    reach = math.ceil(length / 2) + 1
    kernel = np.zeros((2 * reach + 1, 2 * reach + 1))
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    for step in range(256):
        t = (step + 0.5) / 256 - 0.5
        x, y = reach + t * length * cos, reach - t * length * sin
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        kernel[y0, x0] += (1 - fx) * (1 - fy)
        kernel[y0, x0 + 1] += fx * (1 - fy)
        kernel[y0 + 1, x0] += (1 - fx) * fy
        kernel[y0 + 1, x0 + 1] += fx * fy
    return kernel / kernel.sum()


def cylinder(image: Image.Image, *, axis: float, radius: float, shade: float = 0.4) -> Image.Image:
    """The label wrapped round a cylinder parallel to its height, seen from far in front.

    ``axis`` (fraction of the width) faces the camera; ``radius`` is a fraction of the width.
    A point at arc length ``s`` from the axis appears at ``R·sin(s/R)``, so bars squeeze together
    towards the edges; what lies beyond 80° is out of sight. ``shade`` darkens the flanks, which
    face away from the light.
    """
    width, height = image.size
    r = radius * width
    centre = axis * width
    limit = math.radians(80)
    theta_low = max(-limit, -centre / r)
    theta_high = min(limit, (width - centre) / r)
    left = r * math.sin(theta_low)
    out_width = max(1, round(r * math.sin(theta_high) - left))

    def source_x(out_x: float) -> float:
        projected = max(-r, min(r, out_x + left))
        return centre + r * math.asin(projected / r)

    mesh = []
    step = 2
    for x0 in range(0, out_width, step):
        x1 = min(out_width, x0 + step)
        s0, s1 = source_x(x0), source_x(x1)
        mesh.append(((x0, 0, x1, height), (s0, 0, s0, height, s1, height, s1, 0)))
    warped = image.transform(
        (out_width, height),
        Image.Transform.MESH,
        mesh,
        resample=Image.Resampling.BICUBIC,
        fillcolor=WHITE,
    )
    light = Image.new("L", (out_width, 1))
    light.putdata(
        [
            round(255 * (1 - shade + shade * math.cos((source_x(x + 0.5) - centre) / r)))
            for x in range(out_width)
        ]
    )
    return ImageChops.multiply(warped, light.resize((out_width, height)))


def jpeg_bytes(image: Image.Image, *, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=False, progressive=False)
    return buffer.getvalue()


def jpeg(image: Image.Image, *, quality: int) -> Image.Image:
    """What a JPEG at ``quality`` keeps: ringing and 8×8 blocks across thin bars.

    ``generate`` writes ``jpeg_bytes`` itself rather than re-encoding this image, so a JPEG step's
    file decodes to exactly what this returns.
    """
    return Image.open(io.BytesIO(jpeg_bytes(image, quality=quality)))


def low_contrast(
    image: Image.Image, *, dark: int = 112, light: int = 152, falloff: float = 0.8
) -> Image.Image:
    """Grey on grey: faded thermal print under dim light, brighter on one side."""
    span = light - dark
    flat = image.point(lambda v: dark + round(v * span / 255))
    width, height = image.size
    ramp = Image.new("L", (width, 1))
    ramp.putdata(
        [round(255 * (falloff + (1 - falloff) * x / max(1, width - 1))) for x in range(width)]
    )
    return ImageChops.multiply(flat, ramp.resize((width, height)))


def noise(image: Image.Image, *, seed: int, sigma: float) -> Image.Image:
    """Additive Gaussian sensor noise of standard deviation ``sigma`` grey levels."""
    rng = _rng(seed)
    normal = NormalDist(128, sigma)
    table = [max(0, min(255, round(normal.inv_cdf((u + 0.5) / 256)))) for u in range(256)]
    uniform = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    return ImageChops.add(image, uniform.point(table), scale=1.0, offset=-128)


def clutter(size: tuple[int, int], *, seed: int) -> Image.Image:
    """A bedside seen past the label: sheets, a sleeve, printed forms, a monitor, out of focus."""
    rng = _rng(seed)
    width, height = size
    low = rng.randint(90, 150)
    base = Image.linear_gradient("L").resize(size).point(lambda v: low + v * 60 // 255)
    if rng.random() < 0.5:
        base = base.transpose(Image.Transpose.ROTATE_180)
    draw = ImageDraw.Draw(base)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randint(40, 260), rng.randint(30, 200)
        shade = rng.randint(30, 240)
        if rng.random() < 0.5:
            draw.rectangle((x, y, x + w, y + h), fill=shade)
        else:
            draw.ellipse((x, y, x + w, y + h), fill=shade)
    for _ in range(6):
        # Lines of print: short dark dashes, like text on a chart or a drug box.
        x, y = rng.randrange(width), rng.randrange(height)
        for line in range(rng.randint(2, 6)):
            cursor = x
            for _ in range(rng.randint(3, 9)):
                word = rng.randint(8, 40)
                draw.rectangle(
                    (cursor, y + line * 14, cursor + word, y + line * 14 + 6),
                    fill=rng.randint(20, 80),
                )
                cursor += word + rng.randint(5, 10)
    for _ in range(5):
        draw.line(
            (
                rng.randrange(width),
                rng.randrange(height),
                rng.randrange(width),
                rng.randrange(height),
            ),
            fill=rng.randint(0, 255),
            width=rng.randint(2, 8),
        )
    return base.filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 3.0)))


def in_frame(
    image: Image.Image, *, seed: int, size: tuple[int, int] = FRAME_SIZE, fill: float = 0.8
) -> Image.Image:
    """The label scaled into a camera frame, slightly askew, on a cluttered background."""
    rng = _rng(seed)
    frame = clutter(size, seed=rng.getrandbits(32))
    scale = fill * min(size[0] / image.width, size[1] / image.height)
    label = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    angle = rng.uniform(-4, 4)
    mask = Image.new("L", label.size, 255).rotate(angle, expand=True)
    label = label.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE)
    x = rng.randint(0, max(0, size[0] - label.width))
    y = rng.randint(0, max(0, size[1] - label.height))
    frame.paste(label, (x, y), mask)
    return frame


def camera_frame(image: Image.Image, *, seed: int) -> Image.Image:
    """``in_frame`` as a webcam delivers it: a little soft and a little noisy."""
    rng = _rng(seed)
    frame = in_frame(image, seed=rng.getrandbits(32))
    frame = gaussian_blur(frame, radius=0.7)
    return noise(frame, seed=rng.getrandbits(32), sigma=5)


def perspective(image: Image.Image, *, seed: int, tilt: float = 0.3) -> Image.Image:
    """Photographed at an angle: the far side shrinks; ``tilt`` is how much (0 = head on)."""
    rng = _rng(seed)
    width, height = image.size
    pitch = tilt * rng.uniform(0.6, 1.0) / 2
    yaw = tilt * rng.uniform(0.3, 0.7) / 2
    # Where the label's corners land (top-left, top-right, bottom-right, bottom-left).
    corners = [
        (pitch * width, yaw * height),
        ((1 - pitch) * width, 0.0),
        (float(width), float(height)),
        (0.0, (1 - yaw) * height),
    ]
    if rng.random() < 0.5:
        corners = [(width - x, y) for x, y in (corners[1], corners[0], corners[3], corners[2])]
    source = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    return image.transform(
        image.size,
        Image.Transform.PERSPECTIVE,
        _perspective_coefficients(corners, source),
        resample=Image.Resampling.BICUBIC,
        fillcolor=WHITE,
    )


def _perspective_coefficients(
    target: Sequence[tuple[float, float]], source: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """Pillow's eight coefficients mapping each output point in ``target`` to ``source``."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
    return tuple(_solve(rows))


def _solve(augmented: list[list[float]]) -> list[float]:
    """Gauss-Jordan elimination with partial pivoting on an n × (n + 1) matrix."""
    n = len(augmented)
    for col in range(n):
        pivot = max(range(col, n), key=lambda row: abs(augmented[row][col]))
        augmented[col], augmented[pivot] = augmented[pivot], augmented[col]
        head = augmented[col][col]
        augmented[col] = [value / head for value in augmented[col]]
        for row in range(n):
            if row != col and augmented[row][col]:
                factor = augmented[row][col]
                augmented[row] = [
                    a - factor * b for a, b in zip(augmented[row], augmented[col], strict=True)
                ]
    return [row[n] for row in augmented]


# --------------------------------------------------------------------------- the set


BASE, HARD = "base", "hard"


@dataclass(frozen=True)
class LabelKind:
    """A printed label and how it meets a camera."""

    name: str
    fixture_prefix: str
    # The clean fixtures it is made from, named: the set must stay byte-identical when the demo
    # hospital gains patients or products (they were first chosen spread evenly over the sorted
    # fixtures of the kind, so that lots and GTINs vary).
    sources: tuple[str, ...]
    # The part of the label a nurse points the camera at (left, top, right, bottom, fractions).
    aim: tuple[float, float, float, float]
    # What it is wrapped round: the axis (fraction of the aimed width) and the radius (of the
    # aimed width), each drawn from a range per image.
    curve_axis: tuple[float, float]
    curve_radius: tuple[float, float]
    # In the hard group the camera faces the code it is aimed at (``face_axis``), so that every
    # image holds a whole code; ``tight_radius`` keeps half of that code within 45-62° of the
    # axis, its outer bars or modules at 0.5-0.7 of their width. Tighter than that is beyond
    # what any engine reads (the outer bars fall under a pixel) and a nurse turns the vial.
    face_axis: tuple[float, float]
    tight_radius: tuple[float, float]
    groups: tuple[str, ...] = (BASE, HARD)
    # A label the fixtures do not hold, drawn from a fixture's index row: (image, expected text).
    drawn: Callable[[dict], tuple[Image.Image, str]] | None = None


def mrn_code_128(row: dict) -> tuple[Image.Image, str]:
    """The MRN as plain Code 128, the way a HIS prints it on a band or a specimen label.

    300 dpi, a 0.34 mm module (4 px), 10 mm bars and ten modules of quiet zone each side.
    """
    module, quiet = 4, 10
    barcode = zxingcpp.create_barcode(row["mrn"], zxingcpp.BarcodeFormat.Code128)
    raster = zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=False)
    bars = Image.fromarray(np.asarray(raster)[:1], mode="L")
    height = round(10 / 25.4 * 300)
    bars = bars.resize((bars.width * module, height), Image.Resampling.NEAREST)
    label = Image.new("L", (bars.width + 2 * quiet * module, height + 2 * quiet * module), WHITE)
    label.paste(bars, (quiet * module, quiet * module))
    return label, row["mrn"]


KINDS = (
    # The two codes of a band (11.6 cm of its 25 cm) round a wrist or forearm of radius 2.9 to
    # 5.2 cm, turned so that either code, or the gap between them, faces the camera. Tight: the
    # DataMatrix faces a thin wrist of 2 to 2.6 cm (the GS1-128 is then out of sight).
    LabelKind(
        "wristband",
        "wristband-",
        sources=(
            "wristband-BN2026000101.png",
            "wristband-BN2026000104.png",
            "wristband-BN2026000108.png",
            "wristband-BN2026000111.png",
            "wristband-BN2026000115.png",
        ),
        aim=(0.339, 0.0, 0.803, 1.0),
        curve_axis=(0.45, 0.85),
        curve_radius=(0.25, 0.45),
        face_axis=(0.84, 0.89),
        tight_radius=(0.17, 0.22),
    ),
    # A card in a soft holder on a lanyard, gently bent; tight: bent over a hand.
    LabelKind(
        "badge",
        "badge-",
        sources=(
            "badge-dieuduong.binh.png",
            "badge-dieuduong.hoa.png",
            "badge-dieuduong.lan.png",
            "badge-dieuduong.mai.png",
        ),
        aim=(0.0, 0.0, 1.0, 1.0),
        curve_axis=(0.4, 0.6),
        curve_radius=(0.5, 0.9),
        face_axis=(0.45, 0.55),
        tight_radius=(0.36, 0.45),
    ),
    # A 5 cm unit-dose label round a vial or syringe barrel of radius 1.1 to 1.6 cm; tight: a
    # 2-5 mL vial of 0.85 to 1.1 cm, its DataMatrix facing the camera.
    LabelKind(
        "unit-dose",
        "unit-dose-",
        sources=(
            "unit-dose-08936012345001-PCM2409XS001.png",
            "unit-dose-08936012345049-MET2610S001.png",
            "unit-dose-08936012345117-SAL2612S001.png",
            "unit-dose-09520003000018-UD-PCM-01S004.png",
            "unit-dose-09520003000070-HEP2608S003.png",
        ),
        aim=(0.0, 0.0, 1.0, 1.0),
        curve_axis=(0.18, 0.28),
        curve_radius=(0.22, 0.32),
        face_axis=(0.2, 0.26),
        tight_radius=(0.17, 0.22),
    ),
    # A retail pack: a bottle of radius 2 to 4 cm; tight: a small bottle of 1.45 to 1.9 cm.
    LabelKind(
        "ean13",
        "ean13-",
        sources=(
            "ean13-8936012345001.png",
            "ean13-8936012345049.png",
            "ean13-8936012345094.png",
            "ean13-8936012345131.png",
        ),
        aim=(0.0, 0.0, 1.0, 1.0),
        curve_axis=(0.4, 0.6),
        curve_radius=(0.5, 1.0),
        face_axis=(0.45, 0.55),
        tight_radius=(0.38, 0.5),
    ),
    # The band's GS1-128 alone (its 7.5 cm of bars and quiet zones), the camera centred on it,
    # round a forearm of 3.8 to 6.4 cm (the band lies flatter there); tight: a wrist of 3.4 to
    # 4.3 cm.
    LabelKind(
        "gs1-128",
        "wristband-",
        sources=(
            "wristband-BN2026000101.png",
            "wristband-BN2026000104.png",
            "wristband-BN2026000108.png",
            "wristband-BN2026000111.png",
            "wristband-BN2026000115.png",
        ),
        aim=(0.349, 0.0, 0.690, 1.0),
        curve_axis=(0.4, 0.6),
        curve_radius=(0.45, 0.75),
        face_axis=(0.45, 0.55),
        tight_radius=(0.4, 0.5),
        groups=(HARD,),
    ),
    # The MRN in plain Code 128 (4.8 cm with quiet zones) round a wrist of 2.9 to 4.8 cm;
    # tight: 2 to 2.6 cm.
    LabelKind(
        "code128",
        "wristband-",
        sources=(
            "wristband-BN2026000101.png",
            "wristband-BN2026000105.png",
            "wristband-BN2026000110.png",
            "wristband-BN2026000114.png",
        ),
        aim=(0.0, 0.0, 1.0, 1.0),
        curve_axis=(0.4, 0.6),
        curve_radius=(0.6, 1.0),
        face_axis=(0.45, 0.55),
        tight_radius=(0.42, 0.55),
        groups=(HARD,),
        drawn=mrn_code_128,
    ),
)

Apply = Callable[[Image.Image, random.Random, LabelKind], Image.Image]


@dataclass(frozen=True)
class Step:
    """One degradation as applied to every source; JPEG steps are saved as JPEG."""

    name: str
    apply: Apply
    jpeg_quality: int | None = None
    group: str = BASE


def _plain(function: Degradation, **options: object) -> Apply:
    return lambda image, rng, kind: function(image, **options)


def _seeded(function: Degradation, **options: object) -> Apply:
    return lambda image, rng, kind: function(image, seed=rng.getrandbits(32), **options)


def _as_is(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    # The JPEG steps degrade by their encoding alone: the file decodes to what jpeg() returns.
    return image


def _curved(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return cylinder(
        image, axis=rng.uniform(*kind.curve_axis), radius=rng.uniform(*kind.curve_radius)
    )


def _curved_facing(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return cylinder(
        image, axis=rng.uniform(*kind.face_axis), radius=rng.uniform(*kind.curve_radius)
    )


def _curved_tight(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return cylinder(
        image, axis=rng.uniform(*kind.face_axis), radius=rng.uniform(*kind.tight_radius)
    )


def _curved_rolled(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    roll = rng.uniform(*ROLL_DEGREES) * rng.choice((-1, 1))
    return rotate(_curved_facing(image, rng, kind), degrees=roll)


def _curved_tilted(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return perspective(_curved_facing(image, rng, kind), seed=rng.getrandbits(32))


def _blur_severe(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return gaussian_blur(image, radius=rng.uniform(*BLUR_SEVERE))


def _blur_motion(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return motion_blur(image, length=rng.uniform(*MOTION_LENGTH), degrees=rng.uniform(0.0, 180.0))


def _blur_camera(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    # Out of focus in dim light: heavy blur, then the sensor's noise (saved as JPEG 85).
    blurred = gaussian_blur(image, radius=BLUR_HEAVY)
    return noise(blurred, seed=rng.getrandbits(32), sigma=6)


def _curved_blurred(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return gaussian_blur(_curved_facing(image, rng, kind), radius=BLUR_LIGHT)


def _framed(image: Image.Image, rng: random.Random, kind: LabelKind) -> Image.Image:
    return camera_frame(image, seed=rng.getrandbits(32))


STEPS = (
    Step("blur-light", _plain(gaussian_blur, radius=BLUR_LIGHT)),
    Step("blur-heavy", _plain(gaussian_blur, radius=BLUR_HEAVY)),
    Step("rotate-7", _plain(rotate, degrees=7)),
    Step("rotate-90", _plain(rotate, degrees=90)),
    Step("rotate-180", _plain(rotate, degrees=180)),
    Step("glare", _seeded(glare)),
    Step("curved", _curved),
    Step("jpeg-25", _as_is, jpeg_quality=25),
    Step("jpeg-10", _as_is, jpeg_quality=10),
    Step("low-contrast", _plain(low_contrast)),
    Step("noise", _seeded(noise, sigma=NOISE_SIGMA)),
    # Browsers hand a canvas over as JPEG; 85 is about what they default to.
    Step("camera-640x480", _framed, jpeg_quality=85),
    Step("perspective", _seeded(perspective)),
    Step("blur-severe", _blur_severe, group=HARD),
    Step("blur-motion", _blur_motion, group=HARD),
    Step("blur-camera", _blur_camera, jpeg_quality=85, group=HARD),
    Step("curved-tight", _curved_tight, group=HARD),
    Step("curved-rolled", _curved_rolled, group=HARD),
    Step("curved-tilted", _curved_tilted, group=HARD),
    Step("curved-blurred", _curved_blurred, group=HARD),
)


def steps_for(kind: LabelKind) -> list[Step]:
    return [step for step in STEPS if step.group in kind.groups]


def label_for(
    kind: LabelKind, source: str, clean_index: dict[str, dict], *, clean_dir: Path = CLEAN_DIR
) -> tuple[Image.Image, str]:
    """The aimed grayscale label of ``kind`` made from the fixture ``source``, and its text."""
    if kind.drawn is not None:
        label, text = kind.drawn(clean_index[source])
    else:
        label = Image.open(clean_dir / source).convert("L")
        text = clean_index[source]["element_string"]
    return aimed(label, kind), text


def aimed(image: Image.Image, kind: LabelKind) -> Image.Image:
    left, top, right, bottom = kind.aim
    width, height = image.size
    return image.crop(
        (round(left * width), round(top * height), round(right * width), round(bottom * height))
    )


def capture(image: Image.Image, *, scale: float) -> Image.Image:
    """The printed label as the camera resolves it (see the module docstring)."""
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.convert("L").resize(size, Image.Resampling.LANCZOS)


def pick_sources(index: dict[str, dict], kind: LabelKind) -> list[str]:
    """The kind's clean fixtures, each of which must be in ``index``."""
    missing = [name for name in kind.sources if name not in index]
    if missing:
        raise KeyError(f"clean fixtures missing for {kind.name}: {missing}")
    return list(kind.sources)


def file_rng(seed: int, file_name: str) -> random.Random:
    # Not hash(): string hashing is salted per process.
    return _rng(zlib.crc32(f"{seed}:{file_name}".encode()))


def degraded_file(
    label: Image.Image, kind: LabelKind, step: Step, *, seed: int, file_name: str
) -> bytes:
    """One file's bytes: the aimed grayscale ``label`` captured, degraded by ``step``, encoded."""
    rng = file_rng(seed, file_name)
    captured = capture(label, scale=rng.uniform(*CAPTURE_SCALE))
    return encoded(step.apply(captured, rng, kind), step.jpeg_quality)


def generate(
    out_dir: Path = DEGRADED_DIR, *, seed: int = DEFAULT_SEED, clean_dir: Path = CLEAN_DIR
) -> list[dict]:
    """Write every degraded image and ``index.json`` to ``out_dir``; return the index rows.

    Each file is its own photograph: its capture scale and every chance in its degradation come
    from a generator seeded with ``seed`` and the file name. Images left from an earlier run
    under names no longer generated are removed.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_index = json.loads((clean_dir / "index.json").read_text(encoding="utf-8"))
    rows = []
    for kind in KINDS:
        for source in pick_sources(clean_index, kind):
            label, text = label_for(kind, source, clean_index, clean_dir=clean_dir)
            for step in steps_for(kind):
                extension = "jpg" if step.jpeg_quality else "png"
                file_name = f"{kind.name}-{step.name}-{Path(source).stem}.{extension}"
                data = degraded_file(label, kind, step, seed=seed, file_name=file_name)
                (out_dir / file_name).write_bytes(data)
                rows.append(
                    {
                        "file": file_name,
                        "kind": kind.name,
                        "degradation": step.name,
                        "group": step.group,
                        "element_string": text,
                        "source": source,
                    }
                )
    written = {row["file"] for row in rows}
    for stale in [*out_dir.glob("*.png"), *out_dir.glob("*.jpg")]:
        if stale.name not in written:
            stale.unlink()
    index = {row["file"]: {k: v for k, v in row.items() if k != "file"} for row in rows}
    (out_dir / "index.json").write_text(
        json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return rows


def encoded(image: Image.Image, jpeg_quality: int | None) -> bytes:
    """The file's bytes: JPEG at ``jpeg_quality``, else PNG at fixed settings."""
    if jpeg_quality is not None:
        return jpeg_bytes(image, quality=jpeg_quality)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.degrade", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEGRADED_DIR)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    rows = generate(args.out, seed=args.seed)
    total = sum((args.out / row["file"]).stat().st_size for row in rows)
    print(f"{len(rows)} images, {total / 1_000_000:.2f} MB, in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
