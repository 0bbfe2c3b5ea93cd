"""Ready-made reward functions a TRL YAML names by dotted path.

.. code-block:: yaml

    reward_funcs: [rmr1_trl.rewards.judge_reward]      # policy training, judge from RMR1_JUDGE_*
    env:
      RMR1_JUDGE_MODEL: RM-R1-Qwen2.5-Instruct-7B
      RMR1_JUDGE_BASE_URLS: http://127.0.0.1:8001/v1

* :func:`verdict_reward`, :func:`swap_consistency_reward`: judge training (RLVR), ``ground_truth`` column.
* :func:`judge_reward`: GRPO/RLOO policy reward from an RM-R1 judge configured by the environment
  (see :mod:`rmr1_trl.config`); async, one judge per process, built on first call.
* :func:`pairwise_judge_reward`: the same judge for OnlineDPO's two-completion layout.
* :func:`math_reward`, :func:`code_reward`: verifiers.

All are module-level functions, so they pickle by reference (AsyncGRPO).
"""

from __future__ import annotations

from typing import Any

from rmr1_trl.judge_training import swap_consistency_reward, verdict_reward
from rmr1_trl.policy import JudgeReward, PairwiseJudgeReward
from rmr1_trl.verifiers import code_reward, math_reward

_judges: dict[str, Any] = {}


def _shared(kind: type) -> Any:
    # One judge per process and kind, built from the environment when first needed: the reward
    # function itself stays a plain module-level name.
    if kind.__name__ not in _judges:
        from rmr1_trl.config import spec_from_env

        _judges[kind.__name__] = kind(spec=spec_from_env())
    return _judges[kind.__name__]


async def judge_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
    """GRPO/RLOO reward from the RM-R1 judge configured by ``RMR1_JUDGE_*`` (see :class:`JudgeReward`)."""
    return await _shared(JudgeReward)(prompts, completions, **kwargs)


def pairwise_judge_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
    """OnlineDPO reward from the RM-R1 judge configured by ``RMR1_JUDGE_*`` (see :class:`PairwiseJudgeReward`)."""
    return _shared(PairwiseJudgeReward)(prompts, completions, **kwargs)


__all__ = [
    "code_reward",
    "judge_reward",
    "math_reward",
    "pairwise_judge_reward",
    "swap_consistency_reward",
    "verdict_reward",
]
