"""rmr1-plugin: RM-R1 reasoning judges as reward models for TRL and verl.

The core API is small:

>>> from rmr1_plugin import build_judge_messages, parse_verdict, verdict_reward
>>> messages = build_judge_messages("What is 2+2?", "4", "5")
>>> parse_verdict("<type>Reasoning</type><solution>4</solution><eval>A is right</eval><answer>[[A]]</answer>").winner
'A'
>>> verdict_reward("<answer>[[A]]</answer>", "model_a")
1.0
"""

from rmr1_plugin.judge import Judge, JudgeConfig, JudgeError, JudgePair, NoVerdictError, PairVerdict
from rmr1_plugin.prompts import build_judge_messages, flatten_conversation, neutralize_candidate, place_pair
from rmr1_plugin.ranking import GroupScores, arank_group, rank_group
from rmr1_plugin.rewards import original_verdict_reward, verdict_reward
from rmr1_plugin.verdict import Judgment, parse_verdict

__version__ = "0.1.0"

__all__ = [
    "GroupScores",
    "Judge",
    "JudgeConfig",
    "JudgeError",
    "JudgePair",
    "Judgment",
    "NoVerdictError",
    "PairVerdict",
    "arank_group",
    "build_judge_messages",
    "flatten_conversation",
    "neutralize_candidate",
    "original_verdict_reward",
    "parse_verdict",
    "place_pair",
    "rank_group",
    "verdict_reward",
]
