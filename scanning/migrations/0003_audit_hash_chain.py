"""Hash-chain the legal record (scanning/audit.py): chain columns on administrations and scan
events, rows already written back-filled into chains in the order they were written, then the
unique (chain key, chain_seq) constraints.

The back-fill UPDATEs rows that the append-only trigger (0002) protects: on PostgreSQL it disables
that trigger for the two tables inside this migration's transaction and enables it again before
the transaction ends, so no other session ever sees the tables unprotected; a failure rolls the
trigger state back with everything else. ALTER TABLE locks both tables until the migration commits:
stop every app server first: old code still running afterwards cannot write at all (the hash
columns are NOT NULL without a default), so a rolling deploy would fail the carts' records.
It hashes with today's scanning.audit: replaying it on an old backup after the hashed field list
changes needs a frozen copy of that module here."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from scanning import audit

APPEND_ONLY_TRIGGERS = {
    "scanning_administration": "scanning_administration_append_only",
    "scanning_scanevent": "scanning_scanevent_append_only",
}
BATCH = 1000


def backfill(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    administrations = (
        apps.get_model("scanning", "Administration")
        .objects.order_by("patient_id", "created_at", "pk")
        .prefetch_related("units", "overrides")
    )
    _chain(
        administrations,
        "patient_id",
        lambda row: audit.administration_hash(row, row.units.all(), row.overrides.all()),
    )
    events = apps.get_model("scanning", "ScanEvent").objects.order_by(
        "performer_id", "created_at", "pk"
    )
    _chain(events, "performer_id", audit.scan_event_hash)
    if postgres:
        # Fire deferred checks now: ALTER TABLE refuses to run with trigger events pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in APPEND_ONLY_TRIGGERS.items():
            schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def _chain(queryset, key, hash_row):
    chain, head, batch = object(), None, []
    for row in queryset.iterator(chunk_size=BATCH):
        if getattr(row, key) != chain:
            chain, head = getattr(row, key), None
        seal = audit.seal_next(head, hash_row(row))
        row.chain_seq, row.previous_hash, row.content_hash = (
            seal.chain_seq,
            seal.previous_hash,
            seal.content_hash,
        )
        head = (seal.chain_seq, seal.previous_hash, seal.content_hash)
        batch.append(row)
        if len(batch) >= BATCH:
            queryset.model.objects.bulk_update(batch, audit.CHAIN_FIELDS)
            batch = []
    if batch:
        queryset.model.objects.bulk_update(batch, audit.CHAIN_FIELDS)


class Migration(migrations.Migration):

    dependencies = [
        ('pharmacy', '0002_order_status_changed_by'),
        ('scanning', '0002_append_only_triggers'),
        ('wards', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='administration',
            name='chain_seq',
            field=models.PositiveIntegerField(editable=False, null=True, verbose_name='chain position'),
        ),
        migrations.AddField(
            model_name='administration',
            name='content_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='content hash'),
        ),
        migrations.AddField(
            model_name='administration',
            name='previous_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='previous hash'),
        ),
        migrations.AddField(
            model_name='scanevent',
            name='chain_seq',
            field=models.PositiveIntegerField(editable=False, null=True, verbose_name='chain position'),
        ),
        migrations.AddField(
            model_name='scanevent',
            name='content_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='content hash'),
        ),
        migrations.AddField(
            model_name='scanevent',
            name='previous_hash',
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name='previous hash'),
        ),
        migrations.AlterField(
            model_name='administeredunit',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.AlterField(
            model_name='administration',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.AlterField(
            model_name='override',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.AlterField(
            model_name='scanevent',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.UniqueConstraint(fields=('patient', 'chain_seq'), name='scanning_administration_chain_seq_unique'),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('chain_seq__isnull', True), ('content_hash', ''), ('previous_hash', '')), models.Q(('chain_seq__gte', 1), models.Q(('previous_hash', ''), _negated=True), models.Q(('content_hash', ''), _negated=True)), _connector='OR'), name='scanning_administration_chain_sealed_whole'),
        ),
        migrations.AddConstraint(
            model_name='scanevent',
            constraint=models.UniqueConstraint(fields=('performer', 'chain_seq'), name='scanning_scanevent_chain_seq_unique'),
        ),
        migrations.AddConstraint(
            model_name='scanevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('chain_seq__isnull', True), ('content_hash', ''), ('previous_hash', '')), models.Q(('chain_seq__gte', 1), models.Q(('previous_hash', ''), _negated=True), models.Q(('content_hash', ''), _negated=True)), _connector='OR'), name='scanning_scanevent_chain_sealed_whole'),
        ),
    ]
