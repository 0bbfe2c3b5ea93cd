"""verl plug-in: importing it registers the ``rmr1_judge`` reward manager when verl is imported.

verl 0.9 loads every ``verl.plugins`` entry point at the end of ``import verl`` and swallows a
failing one with a DEBUG-level log line, so a broken install would surface much later as
"Unknown reward manager: rmr1_judge". This module therefore says what went wrong at WARNING level
(shown by verl's default logging); ``import verl`` never fails because of it. The manager registers
itself with verl's own ``register()`` (see the end of :mod:`rmr1_verl.manager`).
"""

from __future__ import annotations

import importlib
import logging

logger = logging.getLogger(__name__)

try:
    # When importing the manager is what triggered ``import verl``, this returns the half-imported
    # module, which registers itself once its class exists.
    importlib.import_module("rmr1_verl.manager")
except Exception as exc:  # never break ``import verl``
    logger.warning("rmr1-plugin: reward manager 'rmr1_judge' not registered (%s: %s)", type(exc).__name__, exc)
