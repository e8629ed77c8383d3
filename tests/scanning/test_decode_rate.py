"""Decode rate on the degraded photographs in fixtures/degraded/ (made by ``bench.degrade``).

The pipeline must read what either engine alone reads, and never hand back a wrong payload.
Timings are ``bench.decode``'s business, not the tests'.
"""

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from bench import decode as bench_decode
from bench import degrade
from hospital.gs1 import parse_scan
from scanning.barcodes import decode_pil, load_image

KIND_NAMES = [kind.name for kind in degrade.KINDS]


@pytest.fixture(scope="module")
def samples() -> list[bench_decode.Sample]:
    return bench_decode.load_samples(degrade.DEGRADED_DIR)


@pytest.fixture(scope="module")
def results(samples) -> list[bench_decode.Result]:
    return bench_decode.measure(samples)


def test_the_set_has_every_kind_under_every_degradation(samples):
    # given / when
    pairs = {(sample.kind, sample.degradation) for sample in samples}

    # then
    assert pairs == {(kind, step.name) for kind in KIND_NAMES for step in degrade.STEPS}
    assert len(samples) == sum(kind.sources for kind in degrade.KINDS) * len(degrade.STEPS)


def test_pipeline_reads_at_least_97_percent(results):
    # when
    rate = bench_decode.rate(results, bench_decode.PIPELINE)

    # then
    unread = [r.sample.file for r in results if not r.read(bench_decode.PIPELINE)]
    assert rate >= 0.97, f"{rate:.1%}; not read: {unread}"


def test_pipeline_never_returns_a_wrong_payload(samples):
    misreads = []
    for sample in samples:
        # given
        expected_kind = parse_scan(sample.element_string).kind
        assert expected_kind != "unknown", sample.file
        image = load_image(
            sample.data, max_bytes=bench_decode.MAX_BYTES, max_pixels=bench_decode.MAX_PIXELS
        )

        # when
        symbols = decode_pil(image)

        # then
        for symbol in symbols:
            if symbol.text == sample.element_string:
                continue
            parsed = parse_scan(symbol.text, symbology_id=symbol.symbology_id, is_gs1=symbol.is_gs1)
            if parsed.kind == expected_kind:
                misreads.append((sample.file, symbol.text))
    assert misreads == []


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_pipeline_reads_each_kind_as_well_as_the_better_engine_alone(results, kind):
    # given
    of_kind = [r for r in results if r.sample.kind == kind]
    singles = [engine for engine in of_kind[0].attempts if engine != bench_decode.PIPELINE]

    # when
    pipeline = bench_decode.rate(of_kind, bench_decode.PIPELINE)
    alone = {engine: bench_decode.rate(of_kind, engine) for engine in singles}

    # then
    assert pipeline >= max(alone.values()), alone | {"pipeline": pipeline}


def test_benchmark_runs_end_to_end_on_five_images(tmp_path, capsys):
    # given
    figures = tmp_path / "decode.json"

    # when
    status = bench_decode.main(["--limit", "5", "--repeat", "1", "--json", str(figures)])

    # then
    assert status == 0
    printed = capsys.readouterr().out
    assert "Decode rate by kind" in printed
    assert "Targets" in printed
    written = json.loads(figures.read_text(encoding="utf-8"))
    assert written["images"] == 5
    assert set(written["targets"]) >= {"overall_rate", "rate_per_kind", "frame_640x480_ms"}


@pytest.mark.parametrize("step", degrade.STEPS, ids=lambda step: step.name)
def test_each_degradation_gives_the_same_bytes_for_the_same_seed(step):
    # given
    kind = degrade.KINDS[0]
    source = degrade.pick_sources(_clean_index(), kind)[0]
    label = degrade.aimed(Image.open(degrade.CLEAN_DIR / source).convert("L"), kind)
    name = f"{kind.name}-{step.name}-{Path(source).stem}.png"

    # when
    first = degrade.degraded_file(label, kind, step, seed=7, file_name=name)
    second = degrade.degraded_file(label, kind, step, seed=7, file_name=name)
    other_seed = degrade.degraded_file(label, kind, step, seed=8, file_name=name)

    # then
    assert first == second
    # The capture scale is drawn from the seed, so even the fixed degradations change with it.
    assert first != other_seed


@pytest.mark.parametrize("quality", [25, 10])
def test_a_jpeg_file_holds_what_the_jpeg_degradation_returns(quality):
    # given
    kind = degrade.KINDS[-1]
    source = degrade.pick_sources(_clean_index(), kind)[0]
    label = degrade.aimed(Image.open(degrade.CLEAN_DIR / source).convert("L"), kind)
    step = next(step for step in degrade.STEPS if step.jpeg_quality == quality)
    name = f"{kind.name}-{step.name}-{Path(source).stem}.jpg"
    scale = degrade.file_rng(7, name).uniform(*degrade.CAPTURE_SCALE)

    # when
    written = degrade.degraded_file(label, kind, step, seed=7, file_name=name)

    # then
    expected = degrade.jpeg(degrade.capture(label, scale=scale), quality=quality)
    assert Image.open(io.BytesIO(written)).tobytes() == expected.tobytes()


def test_the_committed_index_is_what_the_generator_writes(tmp_path):
    # when
    rows = degrade.generate(tmp_path, seed=degrade.DEFAULT_SEED)

    # then
    committed = (degrade.DEGRADED_DIR / "index.json").read_text(encoding="utf-8")
    assert (tmp_path / "index.json").read_text(encoding="utf-8") == committed
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [*(row["file"] for row in rows), "index.json"]
    )


def _clean_index() -> dict:
    return json.loads((degrade.CLEAN_DIR / "index.json").read_text(encoding="utf-8"))
