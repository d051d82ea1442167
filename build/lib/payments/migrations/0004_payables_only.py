"""The engine keeps no shop models: Order, Wallet and LedgerEntry now live with the shop that
uses them (the demo's are in frontend/, copied there with their rows by frontend 0002, which
runs before this one). Every payment names its payable."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_payables")]

    operations = [
        migrations.RemoveConstraint(model_name="payment", name="payment_pays_for_one_thing"),
        migrations.RemoveConstraint(model_name="payment", name="payment_one_live_prompt_per_order"),
        migrations.RemoveField(model_name="payment", name="purpose"),
        migrations.RemoveField(model_name="payment", name="order"),
        migrations.RemoveField(model_name="payment", name="wallet"),
        migrations.DeleteModel(name="LedgerEntry"),
        migrations.DeleteModel(name="Order"),
        migrations.DeleteModel(name="Wallet"),
        migrations.AlterField(
            model_name="payment",
            name="payable_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype"
            ),
        ),
        migrations.AlterField(model_name="payment", name="payable_id", field=models.CharField(max_length=64)),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["payable_type", "payable_id"], name="payment_payable"),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("payable_exclusive", True), ("status__in", ["initiating", "pending", "unknown"])),
                fields=("payable_type", "payable_id"),
                name="payment_one_live_prompt_per_payable",
            ),
        ),
    ]
