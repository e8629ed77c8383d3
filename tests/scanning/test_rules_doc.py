"""docs/rules.md from the catalogue (scanning/rules_doc.py, manage.py rules_doc): every code on the
page with its words, and `--check` fails on a stale page."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from scanning import rules_doc
from scanning.rules import CATALOGUE, OVERRIDE_REASONS
from scanning.rules_doc import render


def test_check_fails_on_a_stale_page_and_writes_nothing(tmp_path):
    page = tmp_path / "rules.md"
    page.write_text("# Bedside safety rules\n\nedited by hand\n", encoding="utf-8")

    with pytest.raises(CommandError, match="stale"):
        call_command("rules_doc", "--check", "--output", str(page))

    assert page.read_text(encoding="utf-8") == "# Bedside safety rules\n\nedited by hand\n"


def test_check_fails_on_a_missing_page(tmp_path):
    with pytest.raises(CommandError, match="stale"):
        call_command("rules_doc", "--check", "--output", str(tmp_path / "rules.md"))


def test_a_written_page_passes_the_check(tmp_path):
    page = tmp_path / "rules.md"

    call_command("rules_doc", "--output", str(page))
    call_command("rules_doc", "--check", "--output", str(page))

    assert page.read_text(encoding="utf-8") == render(Path(settings.BASE_DIR))


def test_the_page_lists_every_code_with_its_severity_words_and_reasons():
    page = render(Path(settings.BASE_DIR))

    for code, entry in CATALOGUE.items():
        rows = [line for line in page.splitlines() if line.startswith(f"| `{code}` |")]
        assert len(rows) == 1, code
        assert f"| {entry.severity}" in rows[0]
        for message in entry.messages.values():
            assert message.vi in rows[0] and message.en in rows[0], code
        for reason in OVERRIDE_REASONS.get(code, ()):
            assert f"`{reason}`" in rows[0], code


def test_the_page_names_tests_of_each_code_from_its_area_file():
    page = render(Path(settings.BASE_DIR))

    for code, entry in CATALOGUE.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{code}` |"))
        own = f"`tests/scanning/rules/test_{entry.area}.py::test_code_is_raised`"
        assert own in row, code


def test_a_test_is_found_through_the_table_it_is_parametrized_over(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_example.py").write_text(
        "import pytest\n"
        'ROWS = [("TOO_LATE", 1)]\n'
        '@pytest.mark.parametrize(("code", "n"), ROWS)\n'
        "def test_rows(code, n):\n    pass\n"
        "def test_counts_rows():\n    assert len(ROWS) == 1\n"
        "class TestWords:\n"
        "    def test_direct(self):\n        assert 'ALLERGY'\n",
        encoding="utf-8",
    )

    found = rules_doc.tests_mentioning(tmp_path, {"TOO_LATE", "ALLERGY", "TOO_EARLY"})

    assert [str(ref) for ref in found["TOO_LATE"]] == ["tests/test_example.py::test_rows"]
    assert [str(ref) for ref in found["ALLERGY"]] == [
        "tests/test_example.py::TestWords::test_direct"
    ]
    assert "TOO_EARLY" not in found
