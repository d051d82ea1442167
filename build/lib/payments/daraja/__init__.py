"""Our Daraja (M-Pesa Express) client: pure payloads, typed errors, an async httpx client.

Independent of the models: it knows Daraja's wire protocol (daraja-reference.md), nothing else.
"""
