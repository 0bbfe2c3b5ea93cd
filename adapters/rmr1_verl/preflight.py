"""Say plainly, before verl starts Ray or torch.distributed, that a run needs GPUs this machine lacks.

verl trains on GPUs only. On a machine without them its launch otherwise fails deep inside Ray
(``Total available GPUs 0 is less than total desired GPUs 1``) or torchrun (``Distributed package
doesn't have NCCL built in``). Every primary recipe under ``recipes/verl`` installs
:class:`GPUPreflight` as a Hydra callback, which runs when ``main_ppo`` / ``sft_trainer`` has
composed the config and before the trainer code starts::

    hydra:
      callbacks:
        rmr1_preflight: {_target_: rmr1_verl.preflight.GPUPreflight}

``RMR1_GPU_PREFLIGHT=0`` turns it off (e.g. a multi-node head that has no GPU of its own).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

#: Environment variable that turns the check off when set to 0/false/no/off.
SWITCH = "RMR1_GPU_PREFLIGHT"


def gpus_needed_here(config: Mapping[str, Any]) -> tuple[int, str]:
    """GPUs this node must show for ``config`` to start, and where that number comes from.

    Multi-node runs (``trainer.nnodes > 1``) need at least one GPU here; Ray checks the cluster.

    >>> gpus_needed_here({"trainer": {"nnodes": 1, "n_gpus_per_node": 8}})
    (8, 'trainer.nnodes=1 x trainer.n_gpus_per_node=8')
    >>> gpus_needed_here({"trainer": {"nnodes": 1, "n_gpus_per_node": 4}, "reward": {"reward_model": {
    ...     "enable": True, "enable_resource_pool": True, "nnodes": 1, "n_gpus_per_node": 4}}})
    (8, 'trainer.nnodes=1 x trainer.n_gpus_per_node=4 + reward.reward_model: 1 x 4')
    """
    trainer = config.get("trainer") or {}
    nodes, per_node = int(trainer.get("nnodes") or 1), int(trainer.get("n_gpus_per_node") or 1)
    where = f"trainer.nnodes={nodes} x trainer.n_gpus_per_node={per_node}"
    if nodes > 1:
        return 1, where + " (multi-node: at least one GPU on this node)"
    needed = per_node
    reward_model = (config.get("reward") or {}).get("reward_model") or {}
    if reward_model.get("enable") and reward_model.get("enable_resource_pool"):
        rm_nodes, rm_per_node = int(reward_model.get("nnodes") or 1), int(reward_model.get("n_gpus_per_node") or 0)
        needed += rm_nodes * rm_per_node
        where += f" + reward.reward_model: {rm_nodes} x {rm_per_node}"
    return needed, where


def gpu_problem(config: Mapping[str, Any], visible: int | None = None) -> str | None:
    """Why ``config`` cannot start on this machine's GPUs, or None (also when the run is not on CUDA).

    >>> gpu_problem({"trainer": {"nnodes": 1, "n_gpus_per_node": 1, "device": "cuda"}}, visible=0)[:46]
    'this verl run needs 1 GPU(s) (trainer.nnodes=1'
    >>> gpu_problem({"trainer": {"nnodes": 1, "n_gpus_per_node": 1}}, visible=1) is None
    True
    """
    trainer = config.get("trainer") or {}
    if str(trainer.get("device") or "cuda") != "cuda":
        return None
    if visible is None:
        visible = _visible_gpus()
    needed, where = gpus_needed_here(config)
    if visible >= needed:
        return None
    found = "no GPU" if visible == 0 else f"{visible} GPU(s)"
    return (f"this verl run needs {needed} GPU(s) ({where}), but this machine has {found} visible to torch. "
            f"verl trains on GPUs only: run it on a GPU machine, or lower trainer.n_gpus_per_node. "
            f"On a CPU machine, `python -m rmr1_verl.recipes DIR NAME` checks a recipe without training. "
            f"({SWITCH}=0 skips this check, e.g. on a multi-node head without GPUs.)")


def _visible_gpus() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def enabled() -> bool:
    """False when ``RMR1_GPU_PREFLIGHT`` is 0/false/no/off."""
    return os.environ.get(SWITCH, "1").strip().lower() not in {"0", "false", "no", "off"}


try:
    from hydra.experimental.callback import Callback as _Callback
except ImportError:  # hydra is part of the [verl] extra; the functions above work without it
    _Callback = object  # type: ignore[assignment,misc]


class GPUPreflight(_Callback):  # type: ignore[misc,valid-type]
    """Hydra callback: exit with :func:`gpu_problem`'s message before the trainer starts."""

    def on_job_start(self, config: Any, *, task_function: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        if not enabled():
            return
        problem = gpu_problem(config)
        if problem is not None:
            raise SystemExit(f"rmr1-plugin preflight: {problem}")
