"""A payment pays for any registered payable (payments/payables.py), referenced by content type
and primary key. Added nullable here; the shop's migrations fill them for existing payments
(frontend 0002) before 0004 makes them required and drops the engine's old Order/Wallet."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("payments", "0002_receipts_in_one_spelling"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="payable_type",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype"
            ),
        ),
        migrations.AddField(
            model_name="payment", name="payable_id", field=models.CharField(max_length=64, null=True)
        ),
        migrations.AddField(
            model_name="payment",
            name="payable_kind",
            field=models.CharField(default="", help_text="The payable's registered kind", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(model_name="payment", name="payable_exclusive", field=models.BooleanField(default=True)),
    ]
