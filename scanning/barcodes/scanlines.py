"""Linear barcodes the engines miss in the whole image, read one averaged scanline at a time.

The last resort of ``decode_pil``, for the two ways a linear code defeats zxing-cpp and zbar at
the bedside: blur that merges the narrow bars (out of focus, or a hand moving), and a label
curved round a wrist or a vial and seen askew, so that no row of the image crosses every bar.

1. Find the bars: in 16 × 16 blocks, the structure tensor of the gradient says how strongly the
   edges share one direction. Runs of such blocks, at one angle, are candidate codes.
2. Turn each candidate upright (an affine resampling of just its rectangle) and let zxing-cpp
   and zbar read that strip as they would any image.
3. Average bands of the strip's rows into profiles (noise falls, the bars stay put), undo a
   ladder of blurs (Wiener deconvolution for Gaussian and motion blur of several sizes),
   threshold against the local envelope (the flanks of a curved label are darker), and hand the
   clean bars to zxing-cpp as a tiny synthetic image.

Step 3 guesses the blur, and a wrong guess moves edges, so its reads are accepted only when
two different bands of rows give the same text: a wrong GTIN, lot or MRN is worse than none.
Pure: NumPy and Pillow, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter

BLOCK = 16
# Blocks whose edges are this coherent (0: no direction, 1: all one direction) may be bars.
MIN_COHERENCE = 0.6
# ... and whose mean gradient is at least this many grey levels per pixel.
MIN_GRADIENT = 4.0
# Smallest candidate, in blocks along the bars' normal (an EAN-8 at 1.5 px a module is 100 px).
MIN_LENGTH_BLOCKS = 3
MAX_CANDIDATES = 4
# A larger frame is searched for candidates at this size; the strips are cut from the frame
# itself, at full resolution.
WORK_SIDE = 1280
UPSAMPLE = 4
# How far the blocks' angle may be off, and so how far the strip's own skew may correct it.
MAX_SKEW = math.radians(4)
# (kind, size in px, regularisation): no filter, Gaussian blurs of σ 0.8 to 2, motion of 3 to
# 6 px. Chosen on fixtures/degraded/ (docs/benchmarks.md): what read the most of the images
# that reach this step while, there and on 220 frames without a code, almost no single band
# read a wrong text (1 of 4 811 reads) and no agreed text was wrong. Left out because they did: σ 2 at 1e-2, and an envelope of ±3
# samples for the local threshold (wrong GSRNs and EANs with valid check digits, one of them
# from three bands at once).
DEBLUR_LADDER: tuple[tuple[str, float, float], ...] = (
    ("none", 0.0, 0.0),
    ("gauss", 0.8, 1e-2),
    ("gauss", 1.1, 1e-2),
    ("gauss", 1.4, 1e-2),
    ("gauss", 1.7, 1e-2),
    ("gauss", 1.4, 1e-3),
    ("gauss", 1.7, 1e-3),
    ("gauss", 2.0, 1e-3),
    ("gauss", 1.7, 3e-4),
    ("box", 3.0, 1e-2),
    ("box", 4.0, 1e-2),
    ("box", 5.0, 1e-2),
    ("box", 6.0, 1e-2),
)
# Bands of the strip's height (fractions) averaged into one profile each.
BANDS = ((0.2, 0.8), (0.05, 0.35), (0.35, 0.65), (0.65, 0.95))


@dataclass(frozen=True)
class Strip:
    """A candidate code turned upright: the bars run down the columns."""

    image: Image.Image
    angle: float  # degrees of the bars' normal in the source image, for the record


class Symbol(Protocol):
    """What a reader returns; read-only, so that frozen dataclasses (DecodedSymbol) fit."""

    @property
    def format(self) -> str: ...

    @property
    def text(self) -> str: ...


type Reader[S: Symbol] = Callable[[np.ndarray], list[S]]


def candidate_strips(image: Image.Image) -> list[Strip]:
    """Up to ``MAX_CANDIDATES`` upright strips of the image that look like linear barcodes."""
    scale = 1.0
    work = image
    if max(image.size) > WORK_SIDE:
        scale = WORK_SIDE / max(image.size)
        work = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BOX,
        )
    # Softened first: on bars two pixels wide, plain differences lean towards the pixel grid
    # (by up to 5° here); after a σ 1 blur, by 2.5° at most.
    pixels = np.asarray(work.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float32)
    if min(pixels.shape) < 2 * BLOCK:
        return []
    return [
        _upright(image, region.scaled(1 / scale))
        for region in _bar_regions(pixels)[:MAX_CANDIDATES]
    ]


@dataclass(frozen=True)
class _Region:
    angle: float  # radians, the bars' normal (x right, y down)
    centre: tuple[float, float]
    length: float  # along the normal, px
    height: float  # along the bars, px
    weight: float

    def scaled(self, factor: float) -> _Region:
        x, y = self.centre
        return _Region(
            self.angle,
            (x * factor, y * factor),
            self.length * factor,
            self.height * factor,
            self.weight,
        )


def _bar_regions(pixels: np.ndarray) -> list[_Region]:
    gx = np.zeros_like(pixels)
    gy = np.zeros_like(pixels)
    gx[:, 1:-1] = pixels[:, 2:] - pixels[:, :-2]
    gy[1:-1, :] = pixels[2:, :] - pixels[:-2, :]
    rows, cols = pixels.shape[0] // BLOCK, pixels.shape[1] // BLOCK

    def blocks(values: np.ndarray) -> np.ndarray:
        trimmed = values[: rows * BLOCK, : cols * BLOCK]
        return trimmed.reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3), dtype=np.float64)

    jxx, jyy, jxy = blocks(gx * gx), blocks(gy * gy), blocks(gx * gy)
    energy = jxx + jyy
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / np.maximum(energy, 1e-9)
    angle = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    # Central differences double the gradient; the mean magnitude per pixel is then:
    strength = np.sqrt(energy / (BLOCK * BLOCK)) / 2
    candidate = (coherence >= MIN_COHERENCE) & (strength >= MIN_GRADIENT)
    if not candidate.any():
        return []
    regions = []
    for peak in _angle_peaks(angle[candidate], energy[candidate]):
        near = candidate & (np.abs(_wrap(angle - peak)) <= math.radians(10))
        for component in _components(_dilate(near)):
            region = _region(component, near, angle, energy, peak)
            if region is not None:
                regions.append(region)
    regions.sort(key=lambda region: region.weight, reverse=True)
    return regions


def _wrap(radians: np.ndarray | float) -> np.ndarray | float:
    """An orientation difference folded into [-π/2, π/2)."""
    return (radians + math.pi / 2) % math.pi - math.pi / 2


def _angle_peaks(angles: np.ndarray, weights: np.ndarray, count: int = 2) -> list[float]:
    histogram, edges = np.histogram(
        angles, bins=90, range=(-math.pi / 2, math.pi / 2), weights=weights
    )
    smooth = histogram + 0.5 * (np.roll(histogram, 1) + np.roll(histogram, -1))
    peaks: list[float] = []
    for index in np.argsort(smooth)[::-1]:
        if smooth[index] <= 0 or len(peaks) == count:
            break
        centre = (edges[index] + edges[index + 1]) / 2
        if all(abs(float(_wrap(centre - other))) > math.radians(15) for other in peaks):
            peaks.append(float(centre))
    return peaks


def _dilate(mask: np.ndarray) -> np.ndarray:
    # Blocks inside a wide bar have no edges; one step of growth joins the code back together.
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def _components(mask: np.ndarray) -> Iterator[list[tuple[int, int]]]:
    seen = np.zeros_like(mask)
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        stack, component = [start], []
        while stack:
            row, col = stack.pop()
            component.append((row, col))
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                r, c = row + dr, col + dc
                if (
                    0 <= r < mask.shape[0]
                    and 0 <= c < mask.shape[1]
                    and mask[r, c]
                    and not seen[r, c]
                ):
                    seen[r, c] = True
                    stack.append((r, c))
        yield component


def _region(
    component: list[tuple[int, int]],
    near: np.ndarray,
    angle: np.ndarray,
    energy: np.ndarray,
    peak: float,
) -> _Region | None:
    cells = np.array(component)
    members = near[cells[:, 0], cells[:, 1]]
    if members.sum() < 4:
        return None
    weights = energy[cells[:, 0], cells[:, 1]] * members
    # The angle, refined as the energy-weighted mean of the member blocks around the peak.
    offsets = _wrap(angle[cells[:, 0], cells[:, 1]] - peak)
    theta = peak + float(np.average(offsets, weights=weights))
    ys = (cells[:, 0] + 0.5) * BLOCK
    xs = (cells[:, 1] + 0.5) * BLOCK
    across = xs * math.cos(theta) + ys * math.sin(theta)
    along = -xs * math.sin(theta) + ys * math.cos(theta)
    length = across.max() - across.min() + BLOCK
    if length < MIN_LENGTH_BLOCKS * BLOCK:
        return None
    height = along.max() - along.min() + BLOCK
    mid_across = (across.max() + across.min()) / 2
    mid_along = (along.max() + along.min()) / 2
    centre = (
        mid_across * math.cos(theta) - mid_along * math.sin(theta),
        mid_across * math.sin(theta) + mid_along * math.cos(theta),
    )
    return _Region(theta, centre, length, height, float(weights.sum()))


def _upright(image: Image.Image, region: _Region) -> Strip:
    """The region resampled with its bars vertical, the angle refined by the strip's own skew.

    The blocks' angle is only good to a few degrees, and averaging rows needs better: over 100
    rows, 1° of skew smears every edge by 1.7 px. The shift between the profiles of the top
    and the bottom of the strip measures what is left.
    """
    # Room for the quiet zones at both ends; the bars' own height.
    width = round(region.length * 1.15 + 4 * BLOCK)
    height = max(4, round(region.height))
    angle = region.angle
    centre = region.centre
    rows = _bar_rows(np.asarray(_resampled(image, centre, angle, width, height), np.float64))
    if rows is not None:
        # The blocks reach past the bars (into the printed text under them, or the white): the
        # skew and the scanline bands must see bars only.
        top, bottom = rows
        shift = (top + bottom) / 2 - height / 2
        centre = (centre[0] - shift * math.sin(angle), centre[1] + shift * math.cos(angle))
        height = bottom - top
    for _ in range(3):
        strip = _resampled(image, centre, angle, width, height)
        skew = _skew(np.asarray(strip, dtype=np.float64))
        if skew is None or abs(skew) < 0.003:
            break
        # Never further than the blocks' error from their angle: on a short strip the
        # profiles also match one bar along, and a run of such steps would walk off.
        angle = region.angle + max(-MAX_SKEW, min(MAX_SKEW, angle + skew - region.angle))
    return Strip(strip, math.degrees(angle))


# Rows this far apart are compared; over it, 4° of skew moves an edge by 0.2 px only.
ROW_LAG = 3
# A row belongs to the bars when it matches the rows ROW_LAG away this well (Pearson).
MIN_ROW_MATCH = 0.8


def _bar_rows(pixels: np.ndarray) -> tuple[int, int] | None:
    """The rows of an upright strip that hold bars (top, bottom), when they are fewer than all.

    A row of bars is the same row of bars a few rows further down; a row of printed text, of
    white or of background is not. Returns None when the bars fill the strip, or when too few
    rows look like bars to trust the cut.
    """
    height = pixels.shape[0]
    if height < 4 * ROW_LAG:
        return None
    # Three rows averaged: sensor noise must not break a row of bars.
    smooth = (pixels[:-2] + pixels[1:-1] + pixels[2:]) / 3
    centred = smooth - smooth.mean(axis=1, keepdims=True)
    spread = np.sqrt((centred**2).sum(axis=1))
    first, second = centred[:-ROW_LAG], centred[ROW_LAG:]
    match = (first * second).sum(axis=1) / np.maximum(spread[:-ROW_LAG] * spread[ROW_LAG:], 1e-9)
    strong = spread[:-ROW_LAG] >= 0.25 * _quantile(spread, 0.9)
    bars = (match >= MIN_ROW_MATCH) & strong
    best, best_start, start = 0, 0, None
    for row, is_bar in enumerate([*bars, False]):
        if is_bar and start is None:
            start = row
        elif not is_bar and start is not None:
            if row - start > best:
                best, best_start = row - start, start
            start = None
    # Row r of ``match`` compares the smoothed rows r and r + ROW_LAG, i.e. pixel rows r to
    # r + ROW_LAG + 2.
    top, bottom = best_start, min(height, best_start + best + ROW_LAG + 2)
    if best < max(8, 0.2 * height) or bottom - top >= 0.9 * height:
        return None
    return top, bottom


def _skew(pixels: np.ndarray) -> float | None:
    """The angle (radians) by which the bars of an upright strip still lean, if it can tell."""
    height = pixels.shape[0]
    if height < 12:
        return None
    top = np.diff(pixels[int(0.1 * height) : int(0.35 * height)].mean(axis=0))
    bottom = np.diff(pixels[int(0.65 * height) : int(0.9 * height)].mean(axis=0))
    top -= top.mean()
    bottom -= bottom.mean()
    count = len(top)
    correlation = np.fft.irfft(
        np.fft.rfft(top, 2 * count) * np.conj(np.fft.rfft(bottom, 2 * count))
    )
    correlation = np.concatenate([correlation[-count + 1 :], correlation[:count]])
    # Bars lean by at most the blocks' error: look no further.
    reach = min(count - 1, math.ceil(0.55 * height * math.tan(MAX_SKEW)) + 1)
    middle = count - 1
    window = correlation[middle - reach : middle + reach + 1]
    best = int(np.argmax(window))
    if window[best] <= 0:
        return None
    offset = float(best - reach)
    if 0 < best < len(window) - 1:
        before, peak, after = window[best - 1], window[best], window[best + 1]
        curvature = before - 2 * peak + after
        if curvature < 0:
            offset += 0.5 * (before - after) / curvature
    distance = (int(0.65 * height) + int(0.9 * height) - int(0.1 * height) - int(0.35 * height)) / 2
    return math.atan2(offset, distance)


def _resampled(
    image: Image.Image, centre: tuple[float, float], angle: float, width: int, height: int
) -> Image.Image:
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = centre
    coefficients = (
        cos,
        -sin,
        cx - width / 2 * cos + height / 2 * sin,
        sin,
        cos,
        cy - width / 2 * sin - height / 2 * cos,
    )
    return image.transform(
        (width, height),
        Image.Transform.AFFINE,
        coefficients,
        resample=Image.Resampling.BICUBIC,
        fillcolor=255,
    )


# --------------------------------------------------------------------------- scanlines


def read_profiles[S: Symbol](strip: Image.Image, read: Reader[S]) -> S | None:
    """The one symbol the scanlines of ``strip`` read under every guess of blur, or None.

    ``read`` decodes a small 8-bit image of clean bars (a NumPy array) into symbols. Every
    blur of the ladder runs on every band; a symbol counts when two bands read it, and only
    if no guess read a different text of its format (one would be wrong, and which is unknown).
    """
    pixels = np.asarray(strip, dtype=np.float64)
    height = pixels.shape[0]
    spectra = []
    for low, high in BANDS:
        top = int(low * height)
        bottom = max(top + 1, int(high * height))
        # Edge padding keeps the FFT's wrap-around from pulling the ends towards each other.
        spectra.append(np.fft.rfft(np.pad(pixels[top:bottom].mean(axis=0), PAD, mode="edge")))
    count = 2 * PAD + pixels.shape[1]
    bands: dict[tuple[str, str], set[int]] = {}
    symbols: dict[tuple[str, str], S] = {}
    for kind, size, regularisation in DEBLUR_LADDER:
        gain = _inverse_filter(kind, size, regularisation, count)
        for band, spectrum in enumerate(spectra):
            for symbol in _read_spectrum(spectrum * gain, count, read):
                key = (symbol.format, symbol.text)
                bands.setdefault(key, set()).add(band)
                symbols.setdefault(key, symbol)
    agreed = [key for key, seen in bands.items() if len(seen) >= 2]
    if len(agreed) != 1:
        return None
    [key] = agreed
    if sum(1 for other in bands if other[0] == key[0]) > 1:
        return None
    return symbols[key]


PAD = 64
# The envelope the local threshold compares against spans this many samples either side.
ENVELOPE_REACH = 6


def _inverse_filter(kind: str, size: float, regularisation: float, count: int) -> np.ndarray:
    """Wiener deconvolution of a Gaussian (σ ``size``) or motion (``size`` px) blur."""
    frequencies = np.fft.rfftfreq(count)
    if kind == "none":
        return np.ones_like(frequencies)
    if kind == "gauss":
        transfer = np.exp(-2 * (math.pi * size * frequencies) ** 2)
    else:
        transfer = np.sinc(size * frequencies)
    return transfer / (transfer**2 + regularisation)


def _read_spectrum[S: Symbol](spectrum: np.ndarray, count: int, read: Reader[S]) -> list[S]:
    coarse = np.fft.irfft(spectrum, count)[PAD:-PAD]
    # Band-limited interpolation (the spectrum zero-padded): a thin bar keeps its area.
    fine = np.fft.irfft(spectrum, count * UPSAMPLE)[PAD * UPSAMPLE : -PAD * UPSAMPLE] * UPSAMPLE
    positions = np.arange(len(fine)) / UPSAMPLE
    high, low = _envelope(coarse)
    quiet = np.full(24 * UPSAMPLE, 255, np.uint8)
    symbols: list[S] = []
    for bars in (
        _local_threshold(
            fine,
            np.interp(positions, np.arange(len(coarse)), high),
            np.interp(positions, np.arange(len(coarse)), low),
        ),
        _global_threshold(fine, coarse),
    ):
        row = np.concatenate([quiet, bars, quiet])
        symbols += read(np.ascontiguousarray(np.repeat(row[None, :], 4, axis=0)))
    return symbols


def _envelope(profile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The running maximum and minimum over ±``ENVELOPE_REACH`` samples, then smoothed."""
    reach = ENVELOPE_REACH
    padded = _edge_padded(profile, reach)
    shifted = [padded[offset : offset + len(profile)] for offset in range(2 * reach + 1)]
    high, low = np.maximum.reduce(shifted), np.minimum.reduce(shifted)
    kernel = np.full(reach + 1, 1 / (reach + 1))
    return (
        np.convolve(_edge_padded(high, reach // 2), kernel, mode="valid")[: len(profile)],
        np.convolve(_edge_padded(low, reach // 2), kernel, mode="valid")[: len(profile)],
    )


def _edge_padded(values: np.ndarray, reach: int) -> np.ndarray:
    return np.concatenate([np.full(reach, values[0]), values, np.full(reach, values[-1])])


def _quantile(values: np.ndarray, fraction: float) -> float:
    # np.percentile costs tens of microseconds in overhead; this is one partial sort.
    index = round(fraction * (len(values) - 1))
    return float(np.partition(values, index)[index])


def _global_threshold(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    middle = (_quantile(coarse, 0.05) + _quantile(coarse, 0.95)) / 2
    return np.where(fine > middle, 255, 0).astype(np.uint8)


def _local_threshold(fine: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    # Against the envelope of the nearby bars and spaces, so shading across a curved label or a
    # glare does not drown the bars on one side; flat stretches (no bars) count as white.
    span = high - low
    flat = span < 0.25 * _quantile(span, 0.9)
    return np.where((fine > (high + low) / 2) | flat, 255, 0).astype(np.uint8)


LINEAR_FORMATS = zxingcpp.BarcodeFormats(
    [
        zxingcpp.BarcodeFormat.Code128,
        zxingcpp.BarcodeFormat.EAN13,
        zxingcpp.BarcodeFormat.EAN8,
        zxingcpp.BarcodeFormat.UPCA,
    ]
)
