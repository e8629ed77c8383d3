"""Every invariant is proven twice: the model's validation refuses it (what a form shows) and the
database refuses it (what protects us from code that skips validation)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


def assert_refused_twice(instance, *, exclude=None):
    with pytest.raises(ValidationError):
        instance.full_clean(exclude=exclude)
    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()
