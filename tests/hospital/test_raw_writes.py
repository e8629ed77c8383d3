"""hospital.sql writes the bedside's rows without save(): a save() override or a pre/post-save
receiver added to one of them later would be skipped in silence, so a system check refuses it,
and a raw write of a model that was never declared is refused outright."""

import pytest
from django.db.models import signals

from hospital import sql
from hospital.checks import raw_writes_check
from pharmacy.models import ScheduledDose
from scanning.models import Administration, IdempotentRequest, ScanEvent
from wards.models import Ward


def test_the_models_written_raw_are_declared_and_pass_the_check():
    assert {Administration, ScanEvent, IdempotentRequest, ScheduledDose} <= sql.written_raw_models()
    assert raw_writes_check(None) == []


def test_a_receiver_on_a_model_written_raw_fails_the_check():
    def audit_on_save(sender, instance, **kwargs):
        pass

    signals.post_save.connect(audit_on_save, sender=ScanEvent)
    try:
        errors = raw_writes_check(None)
    finally:
        signals.post_save.disconnect(audit_on_save, sender=ScanEvent)

    assert [error.id for error in errors] == ["hospital.E001"]
    assert "scanning.ScanEvent" in errors[0].msg and "post_save receiver" in errors[0].msg


def test_a_save_override_on_a_model_written_raw_fails_the_check(monkeypatch):
    monkeypatch.setattr(ScheduledDose, "save", lambda self, *args, **kwargs: None, raising=False)

    errors = raw_writes_check(None)

    assert [error.id for error in errors] == ["hospital.E001"]
    assert "save() override in ScheduledDose" in errors[0].msg


@pytest.mark.django_db
def test_a_raw_write_of_an_undeclared_model_is_refused():
    with pytest.raises(TypeError, match="not declared"):
        sql.insert(Ward(code="X", name="X"))
    assert not Ward.objects.filter(code="X").exists()
