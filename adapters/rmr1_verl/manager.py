"""``rmr1_judge``: a verl reward-loop manager that rewards a policy with an RM-R1 judge.

verl scores rollouts one at a time (``RewardManagerBase.run_single``); this manager parks each
rollout until the other completions of its prompt (same ``uid``) arrive, then has the judge rank
the group with one of the engine's strategies (:func:`rmr1_plugin.ranking.rank_group`) and gives
each completion its reward in [-1, 1]. Rows that carry a gold answer or tests for a math/code
data source are verified first; the judge only sees pairs the verifier cannot order.

The judge is reached over the OpenAI-compatible chat API, either

- served by verl itself (``reward.reward_model.enable`` with ``enable_resource_pool``): verl puts
  its reward-model servers behind a router and passes ``reward_router_address``; the served model's
  name is ``reward.reward_model.model_path``; or
- any external server: ``reward.reward_kwargs.base_url`` and ``model``.

Select it with ``reward.reward_manager.name=rmr1_judge`` (registered by the ``verl.plugins`` entry
point on ``import verl``) or, without the plug-in, ``reward.reward_manager.source=importlib``,
``module.path=pkg://rmr1_verl.manager``, ``name=RMR1JudgeRewardManager``. Settings come from
``reward.reward_kwargs`` (:class:`JudgeRewardSettings`; docs/verl.md lists them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import Field, ValidationError
from verl import DataProto
from verl.experimental.reward_loop.reward_manager import register
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from rmr1_plugin.collector import GroupCollector
from rmr1_plugin.pairs import REFERENCE, uses_reference  # noqa: F401  (REFERENCE: kept for importers)
from rmr1_plugin.settings import JudgeSettings
from rmr1_verl.verifiers import code_tests

logger = logging.getLogger(__name__)

#: Name under which the plug-in registers the manager (``reward.reward_manager.name``).
MANAGER_NAME = "rmr1_judge"
#: How many calls Ray runs at once in one async actor (verl's reward workers use the default).
RAY_ASYNC_ACTOR_CONCURRENCY = 1000
#: Logged for every sample (verl builds one array per key from the first sample's keys).
EXTRA_KEYS = ("judge_calls", "group_size", "group_partial", "verified", "judge_flip_rate")


class JudgeRewardSettings(JudgeSettings):
    """``reward.reward_kwargs`` of the ``rmr1_judge`` manager. Unknown keys are refused.

    The judge fields and their defaults are :class:`rmr1_plugin.settings.JudgeSettings`'s, shared
    with TRL's ``JudgeSpec`` and the server (style and ``max_new_tokens`` follow the judge's name
    when unset); verl adds where the judge is served and how groups are collected.
    """

    group_timeout_s: float = Field(1800.0, gt=0)
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    max_concurrency: int = Field(64, ge=1)
    #: data_source -> "math" | "code": rows of these sources with a gold answer / tests are verified.
    verifier_sources: dict[str, Literal["math", "code"]] = Field(default_factory=dict)


def settings_from_config(config: DictConfig | Mapping[str, Any]) -> JudgeRewardSettings:
    """Read :class:`JudgeRewardSettings` from ``config.reward.reward_kwargs`` with errors that name the key."""
    reward = config.get("reward") or {}
    raw = reward.get("reward_kwargs") or {}
    if isinstance(raw, DictConfig):
        raw = OmegaConf.to_container(raw, resolve=True)
    try:
        return JudgeRewardSettings(**raw)
    except ValidationError as exc:
        problems = "; ".join(f"reward.reward_kwargs.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"rmr1_judge reward manager: {problems}") from None


def check_training_config(config: DictConfig | Mapping[str, Any], strategy: str = "round_robin") -> None:
    """Refuse configurations under which groups can never be complete, with the fix in the message.

    With ``strategy="reference"`` each completion is judged alone against its row's reference
    answer, so nothing waits for group mates and there is nothing to check.
    """
    if uses_reference(strategy):
        return
    rollout = config["actor_rollout_ref"]["rollout"]
    n = int(rollout["n"])
    if n < 2:
        raise ValueError("rmr1_judge ranks the completions of each prompt against each other: set "
                         f"actor_rollout_ref.rollout.n >= 2 (got {n})")
    trainer = config.get("trainer") or {}
    validates = (trainer.get("test_freq") or -1) > 0 or bool(trainer.get("val_before_train"))
    val_n = int((rollout.get("val_kwargs") or {}).get("n") or 1)
    if validates and val_n != n:
        raise ValueError(f"rmr1_judge needs whole groups in validation too: set actor_rollout_ref.rollout.val_kwargs.n "
                         f"= rollout.n = {n} (got {val_n}), or turn validation off (trainer.test_freq=-1, "
                         "trainer.val_before_train=false)")
    batch = int(config["data"]["train_batch_size"])
    workers = int(config["reward"]["num_workers"])
    in_flight = batch * max(n, val_n)
    if 2 * in_flight > workers * RAY_ASYNC_ACTOR_CONCURRENCY:
        need = -(-2 * in_flight // RAY_ASYNC_ACTOR_CONCURRENCY)
        raise ValueError(
            f"{in_flight} rollouts per step wait for their groups in {workers} reward worker(s) of "
            f"{RAY_ASYNC_ACTOR_CONCURRENCY} slots each; with too few slots the waiting samples can block their own "
            f"group mates. Set reward.num_workers >= {need}.")


def judge_group_reward(**_: Any) -> None:
    """The ``reward.custom_reward_function`` of the served-judge recipe; never called by ``rmr1_judge``.

    verl 0.9 hands rollouts to the reward manager when it serves a reward model only if a custom
    reward function is configured; otherwise it scores them as a discriminative model (``/classify``).
    """
    raise RuntimeError("judge_group_reward only marks the config for verl; the rewards come from the rmr1_judge "
                       "reward manager (reward.reward_manager.name=rmr1_judge)")


class GroupJudge:
    """Scores complete groups: builds the engine's :class:`~rmr1_plugin.judge.Judge` once, lazily."""

    def __init__(self, settings: JudgeRewardSettings, *, base_url: str | None, model: str | None) -> None:
        if settings.backend == "openai" and (base_url is None or model is None):
            raise ValueError(
                "rmr1_judge needs a judge server: set reward.reward_kwargs.base_url and .model (an external "
                "OpenAI-compatible server), or reward.reward_model.enable=true with model_path (verl serves it)")
        self.settings = settings
        self.base_url, self.model = base_url, model
        self._judge = None

    def judge(self):
        if self._judge is None:
            from rmr1_plugin.backends import make_backend
            from rmr1_plugin.judge import Judge

            s = self.settings
            if s.backend == "openai":
                options = {"base_urls": [self.base_url], "model": self.model, **s.backend_options}
                if s.api_key_env and os.environ.get(s.api_key_env):
                    options.setdefault("api_key", os.environ[s.api_key_env])
                options.setdefault("max_concurrency", s.max_concurrency)
            else:
                options = dict(s.backend_options)
            self._judge = Judge(make_backend(s.backend, **options), s.judge_config(model=self.model))
        return self._judge

    async def score(self, samples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One result (``reward_score`` + ``reward_extra_info``) per sample of one prompt's group."""
        first = samples[0]
        task = self.settings.verifier_sources.get(first["data_source"])
        truth = first["ground_truth"] or None
        gold = truth if task == "math" else None
        tests = None
        if task == "code" and truth is not None:
            spec = code_tests(truth, where=f"data source {first['data_source']!r}")
            tests = spec["tests"] if "tests" in spec else spec
        reference = None
        if uses_reference(self.settings.strategy):
            if not isinstance(truth, str):
                raise ValueError(f"strategy 'reference' judges each completion against reward_model.ground_truth, "
                                 f"the reference answer; data source {first['data_source']!r} has {truth!r:.60}")
            reference = truth
        from rmr1_plugin.judge import NoVerdictError, ascore_until_judged

        def once():
            return self.judge().ascore_group(
                first["prompt"], [s["response"] for s in samples], strategy=self.settings.strategy,
                max_calls=self.settings.max_calls, reference=reference, gold=gold, tests=tests, task=task,
            )

        if self.settings.no_verdict == "skip":
            try:
                scores = await once()
            except NoVerdictError as error:
                scores = error.scores
        else:
            scores = await ascore_until_judged(once, wait_s=self.settings.backend_wait_s)
        verified = scores.details.get("verification") or [None] * len(samples)
        # This group's own flip rate (from what this call returned, never the shared judge's counters).
        flip_rate = -1.0 if scores.flip_rate is None else scores.flip_rate
        return [
            {"reward_score": float(reward),
             "reward_extra_info": {"judge_calls": float(scores.calls), "group_size": float(len(samples)),
                                   "group_partial": float(len(samples) < s["expected"]),
                                   "verified": -1.0 if v is None else float(bool(v)),
                                   "judge_flip_rate": flip_rate}}
            for reward, s, v in zip(scores.rewards, samples, verified, strict=True)
        ]


class GroupJudgeService:
    """A :class:`GroupCollector` in front of a :class:`GroupJudge`: where the waiting happens.

    Inside a Ray job verl runs ``reward.num_workers`` reward workers and sends each rollout to a
    random one, so one prompt's completions land on different workers. The service then runs once
    per job as a named Ray actor that every worker's manager sends its samples to; outside Ray
    (tests, a single process) it is a plain object.
    """

    def __init__(self, settings: dict[str, Any], base_url: str | None, model: str | None) -> None:
        parsed = JudgeRewardSettings(**settings)
        self.group_judge = GroupJudge(parsed, base_url=base_url, model=model)
        self.collector = GroupCollector(self._score, wait_s=parsed.group_timeout_s)

    async def _score(self, key: Any, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self.group_judge.score(samples)

    async def submit(self, key: str, sample: dict[str, Any], expected: int) -> dict[str, Any]:
        """Park ``sample`` in group ``key`` (of ``expected`` samples) and wait for its result."""
        return await self.collector.submit_one(key, sample, expected=expected)


#: Calls the shared service actor runs at once: every waiting sample of every worker.
SERVICE_CONCURRENCY = 100_000


def group_judge_service(settings: JudgeRewardSettings, base_url: str | None, model: str | None) -> Any:
    """The job's shared service actor (created by the first worker to ask), or a local service outside Ray."""
    args = (settings.model_dump(), base_url, model)
    try:
        import ray
    except ImportError:
        ray = None
    if ray is None or not ray.is_initialized():
        return GroupJudgeService(*args)
    actor = ray.remote(GroupJudgeService).options(
        name=f"{MANAGER_NAME}_groups", get_if_exists=True, max_concurrency=SERVICE_CONCURRENCY, num_cpus=0)
    return actor.remote(*args)


class RMR1JudgeRewardManager(RewardManagerBase):
    """verl reward manager: rank each prompt's completions with an RM-R1 judge (see module docs)."""

    def __init__(self, config: DictConfig, tokenizer: Any, compute_score: Any = None,
                 reward_router_address: str | None = None, reward_model_tokenizer: Any = None) -> None:
        super().__init__(config, tokenizer, compute_score)
        self.settings = settings_from_config(config)
        check_training_config(config, self.settings.strategy)
        self.group_size = int(config["actor_rollout_ref"]["rollout"]["n"])
        base_url, model = self.settings.base_url, self.settings.model
        reward = config["reward"]
        if reward["reward_model"]["enable"] and not (reward.get("custom_reward_function") or {}).get("path"):
            raise ValueError(
                "with reward.reward_model.enable, verl 0.9 only calls the reward manager when "
                "reward.custom_reward_function.path is set (else it treats the judge as a classifier): set "
                "reward.custom_reward_function.path=pkg://rmr1_verl.manager and .name=judge_group_reward")
        if reward_router_address is not None:  # verl serves the judge behind its router
            base_url = f"http://{reward_router_address}/v1"
            model = model or config["reward"]["reward_model"]["model_path"]
        GroupJudge(self.settings, base_url=base_url, model=model)  # refuse a missing judge here, not in an actor
        self.service = group_judge_service(self.settings, base_url, model)

    async def run_single(self, data: DataProto) -> dict:
        item = data[-1]  # multi-turn trajectories: the last sequence holds the final answer
        fields = item.non_tensor_batch
        for key in ("uid", "raw_prompt", "data_source"):
            if key not in fields:
                raise KeyError(f"rmr1_judge needs the rollout's {key!r} field (verl sets uid and raw_prompt when "
                               f"data.return_raw_chat is true, its default); got fields {sorted(fields)}")
        response_ids = item.batch["responses"]
        length = int(item.batch["attention_mask"][-response_ids.shape[-1]:].sum())
        response = await self.loop.run_in_executor(
            None, lambda: self.tokenizer.decode(response_ids[:length], skip_special_tokens=True))
        reward_model = fields.get("reward_model") or {}
        expected = 1 if uses_reference(self.settings.strategy) else int(fields.get("__rollout_n__", self.group_size))
        sample = {"prompt": _messages(fields["raw_prompt"]), "response": response,
                  "data_source": str(fields["data_source"]), "ground_truth": reward_model.get("ground_truth"),
                  "expected": expected}
        if isinstance(self.service, GroupJudgeService):
            return await self.service.submit(str(fields["uid"]), sample, expected)
        return await self.service.submit.remote(str(fields["uid"]), sample, expected)


def _messages(raw_prompt: Any) -> list[dict[str, str]]:
    """verl's raw_prompt (a list or numpy array of message dicts) as plain chat messages."""
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in list(raw_prompt)]


# verl's own registry, the way its managers register. ``source=importlib`` loads this file a second
# time under another module name; only the canonical module registers, so the copies never collide.
if __name__ == "rmr1_verl.manager":
    register(MANAGER_NAME)(RMR1JudgeRewardManager)
