"""TRL adapter for rmr1-plugin: RM-R1 judges as TRL reward functions.

>>> from rmr1_trl import JudgeReward, verdict_reward          # doctest: +SKIP
>>> GRPOTrainer(model, reward_funcs=[verdict_reward], ...)     # judge training (RLVR)   # doctest: +SKIP
>>> GRPOTrainer(policy, reward_funcs=[JudgeReward(spec=...)])  # policy training         # doctest: +SKIP

See docs/trl.md.
"""

from rmr1_trl.config import JudgeSpec, spec_from_env
from rmr1_trl.groups import GroupLayoutError, find_groups
from rmr1_trl.judge_training import swap_consistency_reward, verdict_reward
from rmr1_trl.policy import JudgeReward, PairwiseJudgeReward
from rmr1_trl.verifiers import code_reward, math_reward

__all__ = [
    "GroupLayoutError",
    "JudgeReward",
    "JudgeSpec",
    "PairwiseJudgeReward",
    "code_reward",
    "find_groups",
    "judge_reward",
    "math_reward",
    "spec_from_env",
    "swap_consistency_reward",
    "verdict_reward",
]


def __getattr__(name: str):  # judge_reward lives in rmr1_trl.rewards (built from the environment)
    if name == "judge_reward":
        from rmr1_trl.rewards import judge_reward

        return judge_reward
    raise AttributeError(name)
