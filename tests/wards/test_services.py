import pytest
from django.utils import timezone

from tests.factories import AdmissionFactory
from wards.models import Wristband
from wards.selectors import wristband_get_active
from wards.services import (
    BAND_VOIDED_ADMISSION_CANCELLED,
    BAND_VOIDED_AT_DISCHARGE,
    AdmissionClosedError,
    admission_cancel_from_his,
    admission_discharge,
    wristband_issue,
    wristband_void,
)

pytestmark = pytest.mark.django_db


def test_reprinting_voids_the_old_band_and_takes_the_next_instance(pharmacist):
    # given
    admission = AdmissionFactory()
    first = wristband_issue(admission=admission, printed_by=pharmacist)
    # when
    second = wristband_issue(admission=admission, printed_by=pharmacist, reason="Band damaged")
    # then
    first.refresh_from_db()
    assert (first.instance, second.instance) == (1, 2)
    assert first.voided_at is not None and first.void_reason == "Band damaged"
    assert wristband_get_active(gsrn=admission.patient.gsrn, instance=1) is None
    assert wristband_get_active(gsrn=admission.patient.gsrn, instance=2) == second


def test_band_instances_continue_across_admissions(pharmacist):
    first_stay = AdmissionFactory()
    wristband_issue(admission=first_stay, printed_by=pharmacist)
    admission_discharge(admission=first_stay)
    second_stay = AdmissionFactory(patient=first_stay.patient)
    band = wristband_issue(admission=second_stay, printed_by=pharmacist)
    assert band.instance == 2
    assert Wristband.objects.filter(patient=first_stay.patient, voided_at__isnull=True).count() == 1


def test_discharge_voids_the_band(pharmacist):
    admission = AdmissionFactory()
    band = wristband_issue(admission=admission, printed_by=pharmacist)
    admission_discharge(admission=admission)
    band.refresh_from_db()
    assert band.voided_at is not None and band.void_reason == "Người bệnh ra viện"


def test_no_band_for_a_closed_admission(pharmacist):
    admission = AdmissionFactory(discharged_at=timezone.now())
    with pytest.raises(AdmissionClosedError):
        wristband_issue(admission=admission, printed_by=pharmacist)


def test_a_voided_band_stays_void(pharmacist):
    band = wristband_issue(admission=AdmissionFactory(), printed_by=pharmacist)
    wristband_void(wristband=band, reason="Lost")
    voided_at = Wristband.objects.get(pk=band.pk).voided_at
    wristband_void(wristband=band, reason="Again")
    band.refresh_from_db()
    assert band.voided_at == voided_at and band.void_reason == "Lost"


def test_a_band_left_unvoided_on_a_closed_admission_is_not_active_in_either_read(pharmacist):
    # given: an admission closed by hand, its band never voided (data from before the discharge
    # service voided bands, or a fix in the database)
    from scanning.facts import fast_sql

    admission = AdmissionFactory()
    band = wristband_issue(admission=admission, printed_by=pharmacist)
    type(admission).objects.filter(pk=admission.pk).update(discharged_at=timezone.now())
    band.refresh_from_db()
    assert band.voided_at is None

    # then: the ORM read and the bedside's SQL both say the band identifies nobody
    assert wristband_get_active(gsrn=admission.patient.gsrn, instance=band.instance) is None
    read = fast_sql.patient_admission_band(
        gsrn=admission.patient.gsrn, band_instance=band.instance, user_id=pharmacist.pk
    )
    assert read.band_active is False


def test_an_admission_cancelled_by_the_his_says_so_on_the_band_it_voided(pharmacist):
    # given: a band replaced earlier (its own reason) and the current one
    admission = AdmissionFactory()
    old = wristband_issue(admission=admission, printed_by=pharmacist)
    current = wristband_issue(admission=admission, printed_by=pharmacist, reason="Band damaged")
    # when: the HIS says the admission was entered in error (A11)
    admission_cancel_from_his(admission=admission, at=None)
    # then: the band the cancellation voided says why; the earlier reason is kept
    old.refresh_from_db()
    current.refresh_from_db()
    assert current.voided_at is not None
    assert current.void_reason == BAND_VOIDED_ADMISSION_CANCELLED
    assert old.void_reason == "Band damaged"


def test_a_discharge_voids_the_band_as_a_discharge(pharmacist):
    admission = AdmissionFactory()
    band = wristband_issue(admission=admission, printed_by=pharmacist)
    admission_discharge(admission=admission)
    band.refresh_from_db()
    assert band.void_reason == BAND_VOIDED_AT_DISCHARGE
