"""Decode rate and speed on the degraded fixtures: raw zxing-cpp, raw zbar, and our pipeline.

    .venv/bin/python -m bench.decode [--images fixtures/degraded] [--repeat N] [--json FILE]

Every engine starts from the file's bytes, so the three pay the same PNG or JPEG decoding:

- zxing-cpp: ``Image.open`` → grayscale → one ``zxingcpp.read_barcodes`` call (Plain text, the
  pipeline's formats, default binarizer);
- zbar: ``Image.open`` → grayscale → ``pyzbar.pyzbar.decode`` (all its symbologies);
- pipeline: ``load_image`` (the API's caps) → ``decode_pil`` with its retries.

A read counts only if some symbol's text equals the expected element string. The time of an
image is the median of ``--repeat`` runs; engines alternate image by image, so a slow spell of
the machine hits all three alike. The targets come from DESIGN.md section 8.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import zxingcpp
from PIL import Image

from bench import degrade
from scanning.barcodes.decode import ZXING_FORMATS, decode_pil, load_image, pyzbar_available

# The API's defaults (hospital.settings.base), repeated here to keep the benchmark Django-free.
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 20_000_000

TARGET_OVERALL_RATE = 0.97
TARGET_TIME_RATIO = 1.3
TARGET_FRAME_MS = 10.0
FRAME_RUNS = 40

ZXING, ZBAR, PIPELINE = "zxing-cpp", "zbar", "pipeline"


@dataclass(frozen=True)
class Sample:
    file: str
    kind: str
    degradation: str
    element_string: str
    data: bytes


@dataclass(frozen=True)
class Attempt:
    """One engine on one image: the texts it returned and its median load and decode time (s)."""

    texts: tuple[str, ...]
    load: float
    decode: float

    @property
    def total(self) -> float:
        return self.load + self.decode


@dataclass
class Result:
    sample: Sample
    attempts: dict[str, Attempt] = field(default_factory=dict)

    def read(self, engine: str) -> bool:
        return self.sample.element_string in self.attempts[engine].texts


Engine = Callable[[bytes], tuple[tuple[str, ...], float, float]]


def _open_gray(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("L")


def run_zxing(data: bytes) -> tuple[tuple[str, ...], float, float]:
    start = time.perf_counter()
    image = _open_gray(data)
    loaded = time.perf_counter()
    barcodes = zxingcpp.read_barcodes(
        image, formats=ZXING_FORMATS, text_mode=zxingcpp.TextMode.Plain
    )
    done = time.perf_counter()
    return tuple(b.text for b in barcodes), loaded - start, done - loaded


def run_zbar(data: bytes) -> tuple[tuple[str, ...], float, float]:
    # Imported here: without libzbar0 the import fails, and engines() leaves zbar out.
    from pyzbar import pyzbar

    start = time.perf_counter()
    image = _open_gray(data)
    loaded = time.perf_counter()
    symbols = pyzbar.decode(image)
    done = time.perf_counter()
    return (
        tuple(s.data.decode("utf-8", errors="replace") for s in symbols),
        loaded - start,
        done - loaded,
    )


def run_pipeline(data: bytes) -> tuple[tuple[str, ...], float, float]:
    start = time.perf_counter()
    image = load_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    loaded = time.perf_counter()
    symbols = decode_pil(image)
    done = time.perf_counter()
    return tuple(s.text for s in symbols), loaded - start, done - loaded


def engines() -> dict[str, Engine]:
    """The engines that can run here: zbar only when pyzbar and libzbar0 are installed."""
    available: dict[str, Engine] = {ZXING: run_zxing}
    if pyzbar_available():
        available[ZBAR] = run_zbar
    available[PIPELINE] = run_pipeline
    return available


def load_samples(images: Path, *, limit: int | None = None) -> list[Sample]:
    """The images listed in ``images/index.json``; with ``limit``, that many spread over the list."""
    index = json.loads((images / "index.json").read_text(encoding="utf-8"))
    names = sorted(index)
    if limit is not None and 0 < limit < len(names):
        stride = len(names) / limit
        names = [names[int(i * stride)] for i in range(limit)]
    return [
        Sample(
            file=name,
            kind=index[name]["kind"],
            degradation=index[name]["degradation"],
            element_string=index[name]["element_string"],
            data=(images / name).read_bytes(),
        )
        for name in names
    ]


def measure(samples: Sequence[Sample], *, repeat: int = 1) -> list[Result]:
    """Every available engine on every sample, ``repeat`` times each, engines taking turns."""
    available = engines()
    results = []
    for sample in samples:
        result = Result(sample)
        for name, run in available.items():
            runs = [run(sample.data) for _ in range(max(1, repeat))]
            result.attempts[name] = Attempt(
                texts=runs[0][0],
                load=statistics.median(r[1] for r in runs),
                decode=statistics.median(r[2] for r in runs),
            )
        results.append(result)
    return results


def rate(results: Sequence[Result], engine: str) -> float:
    return sum(r.read(engine) for r in results) / len(results) if results else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


def clean_frame_times(runs: int = FRAME_RUNS) -> dict[str, dict]:
    """The pipeline on one clean 640×480 frame per kind (label on clutter, PNG), ``runs`` times."""
    clean_index = json.loads((degrade.CLEAN_DIR / "index.json").read_text(encoding="utf-8"))
    frames = {}
    for kind in degrade.KINDS:
        source = degrade.pick_sources(clean_index, kind)[0]
        label = degrade.aimed(Image.open(degrade.CLEAN_DIR / source).convert("L"), kind)
        frame = degrade.in_frame(label, seed=degrade.DEFAULT_SEED)
        buffer = io.BytesIO()
        frame.save(buffer, format="PNG")
        data = buffer.getvalue()
        timings = []
        texts: tuple[str, ...] = ()
        for _ in range(runs):
            texts, load, decode = run_pipeline(data)
            timings.append(load + decode)
        frames[kind.name] = {
            "source": source,
            "read": clean_index[source]["element_string"] in texts,
            "median_ms": statistics.median(timings) * 1000,
        }
    return frames


def summarize(results: Sequence[Result], frames: dict[str, dict] | None) -> dict:
    engine_names = list(results[0].attempts) if results else []
    kinds = sorted({r.sample.kind for r in results})
    degradations = sorted({r.sample.degradation for r in results})

    def rates(subset: Sequence[Result]) -> dict:
        return {"images": len(subset), **{e: rate(subset, e) for e in engine_names}}

    per_kind = {k: rates([r for r in results if r.sample.kind == k]) for k in kinds}
    per_degradation = {
        d: rates([r for r in results if r.sample.degradation == d]) for d in degradations
    }
    times = {
        e: {
            "median_ms": statistics.median(r.attempts[e].total for r in results) * 1000,
            "p95_ms": percentile([r.attempts[e].total for r in results], 0.95) * 1000,
            "median_decode_ms": statistics.median(r.attempts[e].decode for r in results) * 1000,
        }
        for e in engine_names
    }
    both = [r for r in results if r.read(ZXING) and r.read(PIPELINE)]
    ratio = None
    if both:
        ratio = {
            "images": len(both),
            "zxing_median_ms": statistics.median(r.attempts[ZXING].total for r in both) * 1000,
            "pipeline_median_ms": statistics.median(r.attempts[PIPELINE].total for r in both)
            * 1000,
            "decode_only": statistics.median(r.attempts[PIPELINE].decode for r in both)
            / statistics.median(r.attempts[ZXING].decode for r in both),
        }
        ratio["ratio"] = ratio["pipeline_median_ms"] / ratio["zxing_median_ms"]
    singles = [e for e in engine_names if e != PIPELINE]
    targets = {
        "overall_rate": {
            "value": rate(results, PIPELINE),
            "target": TARGET_OVERALL_RATE,
            "pass": rate(results, PIPELINE) >= TARGET_OVERALL_RATE,
        },
        "rate_per_kind": {
            "value": {
                k: per_kind[k][PIPELINE] - max(per_kind[k][e] for e in singles) for k in kinds
            },
            "target": "pipeline ≥ best single engine",
            "pass": all(
                per_kind[k][PIPELINE] >= max(per_kind[k][e] for e in singles) for k in kinds
            ),
        },
    }
    if ratio is not None:
        targets["time_ratio"] = {
            "value": ratio["ratio"],
            "target": TARGET_TIME_RATIO,
            "pass": ratio["ratio"] <= TARGET_TIME_RATIO,
        }
    if frames:
        worst = max(f["median_ms"] for f in frames.values())
        targets["frame_640x480_ms"] = {
            "value": worst,
            "target": TARGET_FRAME_MS,
            "pass": worst <= TARGET_FRAME_MS and all(f["read"] for f in frames.values()),
        }
    return {
        "images": len(results),
        "engines": engine_names,
        "zbar_available": ZBAR in engine_names,
        "overall": rates(results),
        "per_kind": per_kind,
        "per_degradation": per_degradation,
        "times": times,
        "ratio_on_both_read": ratio,
        "clean_frame": frames,
        "targets": targets,
        "other_texts": {
            e: sorted(
                r.sample.file
                for r in results
                if any(text != r.sample.element_string for text in r.attempts[e].texts)
            )
            for e in engine_names
        },
        "per_image": [
            {
                "file": r.sample.file,
                **{
                    e: {"read": r.read(e), "ms": round(r.attempts[e].total * 1000, 3)}
                    for e in engine_names
                },
            }
            for r in results
        ],
        "failures": {
            e: sorted(r.sample.file for r in results if not r.read(e)) for e in engine_names
        },
    }


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _mark(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def render(summary: dict, *, repeat: int) -> str:
    engine_names = summary["engines"]
    singles = [e for e in engine_names if e != PIPELINE]
    lines = []
    if not summary["zbar_available"]:
        lines += ["zbar: pyzbar or libzbar0 is not installed; its column is skipped.", ""]

    def header(first: str) -> str:
        return "| " + " | ".join([first, "images", *engine_names]) + " |"

    rule = "|---|--:|" + "--:|" * len(engine_names)

    lines += [
        "Decode rate by kind",
        "",
        header("kind") + " pipeline ≥ best single |",
        rule + ":-:|",
    ]
    for kind, row in summary["per_kind"].items():
        best = max(row[e] for e in singles)
        cells = [kind, str(row["images"]), *(_pct(row[e]) for e in engine_names)]
        lines.append("| " + " | ".join(cells) + f" | {_mark(row[PIPELINE] >= best)} |")
    overall = summary["overall"]
    cells = ["**all**", str(overall["images"]), *(_pct(overall[e]) for e in engine_names)]
    lines.append("| " + " | ".join(cells) + " | |")

    lines += ["", "Decode rate by degradation", "", header("degradation"), rule]
    for degradation, row in summary["per_degradation"].items():
        cells = [degradation, str(row["images"]), *(_pct(row[e]) for e in engine_names)]
        lines.append("| " + " | ".join(cells) + " |")

    lines += [
        "",
        f"Time per image, ms (from the file's bytes; median of {repeat} runs per image)",
        "",
        "| engine | median | p95 | median, decoder only |",
        "|---|--:|--:|--:|",
    ]
    for engine, t in summary["times"].items():
        lines.append(
            f"| {engine} | {t['median_ms']:.2f} | {t['p95_ms']:.2f} | {t['median_decode_ms']:.2f} |"
        )

    other = ", ".join(f"{e} {len(files)}" for e, files in summary["other_texts"].items())
    lines += ["", f"Images where an engine returned a text other than the expected one: {other}."]

    ratio = summary["ratio_on_both_read"]
    if ratio:
        lines += [
            "",
            f"On the {ratio['images']} images both zxing-cpp and the pipeline read: "
            f"zxing-cpp {ratio['zxing_median_ms']:.2f} ms, pipeline "
            f"{ratio['pipeline_median_ms']:.2f} ms median; ratio {ratio['ratio']:.3f} "
            f"(decoders only: {ratio['decode_only']:.3f}).",
        ]
    if summary["clean_frame"]:
        lines += ["", "Pipeline on a clean 640×480 frame (PNG, label on clutter), median ms:", ""]
        for kind, frame in summary["clean_frame"].items():
            read = "read" if frame["read"] else "NOT READ"
            lines.append(f"- {kind} ({frame['source']}): {frame['median_ms']:.2f} ms, {read}")

    lines += ["", "Targets", ""]
    targets = summary["targets"]
    t = targets["overall_rate"]
    lines.append(f"- {_mark(t['pass'])} overall pipeline rate {_pct(t['value'])} (≥ 97 %)")
    t = targets["rate_per_kind"]
    margins = ", ".join(f"{k} {v * 100:+.1f} pt" for k, v in t["value"].items())
    lines.append(f"- {_mark(t['pass'])} pipeline ≥ best single engine on every kind ({margins})")
    if "time_ratio" in targets:
        t = targets["time_ratio"]
        lines.append(
            f"- {_mark(t['pass'])} pipeline / zxing-cpp median time {t['value']:.3f} (≤ 1.3)"
        )
    if "frame_640x480_ms" in targets:
        t = targets["frame_640x480_ms"]
        lines.append(
            f"- {_mark(t['pass'])} clean 640×480 frame, slowest kind {t['value']:.2f} ms median (≤ 10 ms)"
        )

    failures = summary["failures"].get(PIPELINE, [])
    if failures:
        lines += ["", "Not read by the pipeline:", *(f"- {name}" for name in failures)]
    return "\n".join(lines)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = ", ".join(
        f"{package} {_version(package)}" for package in ("zxing-cpp", "pyzbar", "Pillow")
    )
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}, {versions}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.decode", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--images", type=Path, default=degrade.DEGRADED_DIR)
    parser.add_argument("--repeat", type=int, default=5, help="runs per image and engine")
    parser.add_argument("--limit", type=int, default=None, help="only this many images")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    samples = load_samples(args.images, limit=args.limit)
    print(machine())
    print(f"{len(samples)} images from {args.images}, {args.repeat} runs each")
    started = time.perf_counter()
    gc.disable()
    try:
        results = measure(samples, repeat=args.repeat)
        frames = clean_frame_times(FRAME_RUNS if args.limit is None else 3)
    finally:
        gc.enable()
    summary = summarize(results, frames)
    summary["machine"] = machine()
    summary["repeat"] = args.repeat
    summary["seconds"] = time.perf_counter() - started
    print()
    print(render(summary, repeat=args.repeat))
    print(f"\n{summary['seconds']:.1f} s")
    if args.json is not None:
        args.json.write_text(
            json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
