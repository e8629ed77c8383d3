"""The tests' copy of the demo hospital (tests/demo_copy.py) holds what the loader makes: several
hundred tests start from it instead of the loader, so a copy that drifted would test another
hospital than the demo's, quietly."""

import pytest
import time_machine
from django.db import transaction

from tests import demo_copy
from tests.demo_copy import DemoCopy, _dump
from tests.factories import PatientFactory, SubstanceFactory
from tests.scanning.conftest import DEMO_NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def loads(monkeypatch) -> list:
    """One item for each run of the real loader."""
    runs = []
    real_load = demo_copy.demo_hospital_load
    monkeypatch.setattr(demo_copy, "demo_hospital_load", lambda: runs.append(1) or real_load())
    return runs


def test_a_copy_holds_every_row_the_loader_made_and_the_next_row_gets_a_new_key(loads):
    demo = DemoCopy()
    with time_machine.travel(DEMO_NOW, tick=False):
        # given: the first load, real, then undone
        with transaction.atomic():
            demo.load()
            loaded = _dump()
            transaction.set_rollback(True)

        # when: the next one, into the same empty database
        demo.load()

    # then: the same rows in every table, and no second run of the loader
    assert _dump() == loaded
    assert len(loads) == 1
    assert demo.usable
    # and a row added after it takes a key of its own (PostgreSQL's sequences were moved on)
    PatientFactory()


def test_a_database_that_holds_other_rows_first_is_loaded_for_real(loads):
    demo = DemoCopy()
    with time_machine.travel(DEMO_NOW, tick=False):
        with transaction.atomic():
            demo.load()
            transaction.set_rollback(True)
        SubstanceFactory(code="levothyroxine", name="Levothyroxine")  # not in the demo

        demo.load()

    assert len(loads) == 2
