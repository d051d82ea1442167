"""Admin: payments (filters, search, one timeline, actions), raw callbacks and the Pay Bill
review queue. They are
records: their pages are read-only (no Save), times are Nairobi time with seconds, and stored
JSON is shown as readable keys and values. Every action goes through a service; nothing here
writes payment state directly. (What is paid for is the project's own: its payables have
their own admin.)"""

from . import callbacks, paybill, payments  # noqa: F401  (each registers its models)
