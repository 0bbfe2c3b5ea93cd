"""verl plug-in: registers the ``rmr1_judge`` reward manager when verl is imported.

verl 0.9 loads every ``verl.plugins`` entry point at the end of ``import verl`` and swallows a
failing one with a DEBUG-level log line, so a broken install would surface much later as
"Unknown reward manager: rmr1_judge". This module therefore catches its own errors and says what
went wrong at WARNING level (shown by verl's default logging); ``import verl`` never fails
because of it.
"""

from __future__ import annotations

import importlib
import logging

logger = logging.getLogger(__name__)


def register() -> bool:
    """Register :class:`~rmr1_verl.manager.RMR1JudgeRewardManager` under ``rmr1_judge``; False on failure."""
    try:
        # import_module (not ``from ... import Name``) also works while rmr1_verl.manager is itself
        # half-imported, i.e. when importing it is what triggered ``import verl``.
        manager = importlib.import_module("rmr1_verl.manager")
        from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER

        cls = getattr(manager, "RMR1JudgeRewardManager", None)
        if cls is None:  # half-imported: the module registers itself once its class exists
            return False
        existing = REWARD_MANAGER.get(manager.MANAGER_NAME)
        if existing is not None and existing.__qualname__ == cls.__qualname__ and existing.__module__ == cls.__module__:
            return True
        REWARD_MANAGER[manager.MANAGER_NAME] = cls
        return True
    except Exception as exc:  # never break ``import verl``
        logger.warning("rmr1-plugin: reward manager 'rmr1_judge' not registered (%s: %s)", type(exc).__name__, exc)
        return False


registered = register()
