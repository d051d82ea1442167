"""The Pay Bill fallback: each payment gets its own account number for paying from the M-Pesa
menu (old payments have none), the raw callback table also keeps C2B Validation and
Confirmation requests, and one row per menu payment (unique by receipt) holds its match or
its place in the review queue."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0004_payables_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='callbackrecord',
            name='kind',
            field=models.CharField(choices=[('stk', 'STK result'), ('c2b_validation', 'Pay Bill validation'), ('c2b_confirmation', 'Pay Bill confirmation')], default='stk', max_length=16),
        ),
        migrations.AddField(
            model_name='payment',
            name='paybill_account',
            field=models.CharField(blank=True, max_length=12, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='payment',
            name='account_reference',
            field=models.CharField(help_text='AccountReference sent with the prompt', max_length=12),
        ),
        migrations.AlterField(
            model_name='payment',
            name='settled_by',
            field=models.CharField(blank=True, choices=[('push', 'STK push response'), ('callback', 'Callback'), ('query', 'STK query'), ('expiry', 'Local deadline'), ('admin', 'Admin'), ('c2b', 'Pay Bill (M-Pesa menu)'), ('customer', 'Customer (stopped on the page)')], max_length=16),
        ),
        migrations.CreateModel(
            name='C2BPayment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('trans_id', models.CharField(max_length=20, unique=True, verbose_name='M-Pesa receipt')),
                ('trans_time', models.DateTimeField(blank=True, null=True)),
                ('amount_text', models.CharField(help_text='TransAmount as sent', max_length=32)),
                ('amount', models.PositiveIntegerField(blank=True, help_text='Whole shillings', null=True)),
                ('business_short_code', models.CharField(blank=True, max_length=16)),
                ('bill_ref_number', models.CharField(blank=True, max_length=64, verbose_name='account typed')),
                ('transaction_type', models.CharField(blank=True, max_length=64)),
                ('msisdn', models.CharField(blank=True, help_text='As sent: often masked or hashed', max_length=128)),
                ('first_name', models.CharField(blank=True, max_length=64)),
                ('state', models.CharField(choices=[('matched', 'Paid a payment'), ('stk_receipt', "An STK payment's own confirmation"), ('review', 'Needs review'), ('attached', 'Attached by staff'), ('refunded', 'Refunded by staff')], db_index=True, default='review', max_length=16)),
                ('review_reason', models.CharField(blank=True, max_length=255)),
                ('excess', models.PositiveIntegerField(default=0, help_text="Shillings above the payment's amount")),
                ('received_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolution_note', models.CharField(blank=True, max_length=255)),
                ('payment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='c2b_payments', to='payments.payment')),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'Pay Bill payment',
                'ordering': ['-received_at'],
            },
        ),
        migrations.AddField(
            model_name='callbackrecord',
            name='c2b',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='payments.c2bpayment'),
        ),
        migrations.AddConstraint(
            model_name='c2bpayment',
            constraint=models.CheckConstraint(condition=models.Q(('trans_id', django.db.models.functions.text.Upper('trans_id'))), name='c2b_receipt_upper_case'),
        ),
    ]
