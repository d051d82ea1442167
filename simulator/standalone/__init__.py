"""The simulator on its own (``make simulator``, compose service ``simulator``): the Daraja
API, the control API, the handset and the index, with their own settings module
(``project/settings_simulator.py``), URLconf and ASGI application. Nothing of the shop."""
