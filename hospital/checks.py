"""System checks of the hospital app."""

from django.core.checks import Error, register
from django.db import models
from django.db.models import signals

from hospital.sql import written_raw_models


@register()
def raw_writes_check(app_configs, **kwargs):
    """A model that hospital.sql writes without save() must have nothing a save() would run: no
    save() override anywhere in its classes, no pre_save or post_save receiver."""
    errors = []
    for model in sorted(written_raw_models(), key=lambda model: model._meta.label):
        overriding = [
            cls.__qualname__
            for cls in model.__mro__
            if cls is not models.Model and "save" in cls.__dict__
        ]
        receivers = [
            signal_name
            for signal_name, signal in (
                ("pre_save", signals.pre_save),
                ("post_save", signals.post_save),
            )
            if signal.has_listeners(model)
        ]
        if overriding or receivers:
            errors.append(
                Error(
                    f"{model._meta.label} is written by hospital.sql without save(), but has "
                    + ", ".join(
                        [f"a save() override in {name}" for name in overriding]
                        + [f"a {name} receiver" for name in receivers]
                    )
                    + ".",
                    hint="Write it with the ORM, or move the logic into the service that writes it.",
                    obj=model,
                    id="hospital.E001",
                )
            )
    return errors
