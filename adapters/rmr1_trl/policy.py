"""An RM-R1 judge as the reward of policy training: GRPO/RLOO (groups) and OnlineDPO (pairs).

TRL scores completions pointwise; an RM-R1 judge compares two answers. :class:`JudgeReward`
bridges the two for GRPO and RLOO: it finds each prompt's G completions in the batch, asks the
judge engine for one reward per completion with a ranking strategy and call budget
(:meth:`rmr1_plugin.judge.Judge.ascore_group`), and reports what the judge said.
:class:`PairwiseJudgeReward` fits OnlineDPO, whose batch holds two completions per prompt.

Both are plain classes (never ``torch.nn.Module``: TRL would treat one as a sequence classifier)
and pickle to their settings, so AsyncGRPO can ship them to its rollout process; the judge is built
again on first use there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from rmr1_plugin.judge import NoVerdictError, ascore_until_judged, group_flip_rate, run_sync
from rmr1_plugin.pairs import JudgePair, uses_reference
from rmr1_trl.config import JudgeSpec, spec_from_env
from rmr1_trl.groups import find_groups
from rmr1_trl.text import completion_text

#: Characters of judge output kept per completion in the completions table.
RATIONALE_CHARS = 2000


class _JudgeHolder:
    """Builds the judge lazily from a spec, or holds a live one; pickles as the spec only."""

    def __init__(self, judge: Any = None, spec: JudgeSpec | None = None, name: str = "rmr1_judge"):
        if judge is None and spec is None:
            spec = spec_from_env()
        self._judge = judge
        self.spec = spec
        self.__name__ = name  # TRL names the reward column after __name__

    @property
    def judge(self) -> Any:
        if self._judge is None:
            self._judge = self.spec.build_judge()
        return self._judge

    def __getstate__(self) -> dict[str, Any]:
        if self.spec is None:
            raise TypeError(
                f"{type(self).__name__} was given a live Judge, which cannot be pickled (AsyncGRPO pickles "
                "reward functions); construct it with spec=JudgeSpec(...) or from the RMR1_JUDGE_* environment"
            )
        state = dict(self.__dict__)
        state["_judge"] = None
        return state


class JudgeReward(_JudgeHolder):
    """Per-completion rewards in [-1, 1] from an RM-R1 judge ranking each prompt's completions.

    ``judge``: a live :class:`rmr1_plugin.judge.Judge` (not picklable), or ``spec`` (a
    :class:`~rmr1_trl.config.JudgeSpec`); neither reads the ``RMR1_JUDGE_*`` environment.
    ``strategy``/``max_calls``/``reference_column``/``group_size`` default to the spec's.

    Returns ``None`` for a completion on which the judge gave no verdict at all (TRL then
    ignores it in the group statistics). A group in which *no* comparison produced a verdict
    raises :class:`rmr1_plugin.NoVerdictError` and stops training: when the backend is down it is
    retried with backoff for ``backend_wait_s`` seconds first, and the error carries the backend's
    message. ``no_verdict="skip"`` instead gives such a group ``None`` rewards (an explicit choice:
    a run whose only reward is ``None`` trains on nothing). Logs through TRL:

    * ``log_extra("rmr1_judge_rationale", ...)``: per completion, its record and the judge's
      first judgment about it (or the verifier's decision);
    * ``log_metric``: ``rmr1/judge_calls`` (per prompt group), ``rmr1/no_verdict_rate``, and
      ``rmr1/flip_rate`` when the judge swaps orders.

    Groups: GRPO/RLOO keep a prompt's completions adjacent, but each process scores only its
    slice; the slice must hold whole groups (see :mod:`rmr1_trl.groups`), else this raises
    :class:`~rmr1_trl.groups.GroupLayoutError`.

    >>> reward = JudgeReward(spec=JudgeSpec(model="judge", strategy="knockout"))  # doctest: +SKIP
    >>> trainer = GRPOTrainer(model, reward_funcs=[reward], ...)                 # doctest: +SKIP
    """

    def __init__(self, judge: Any = None, *, spec: JudgeSpec | None = None, strategy: str | None = None,
                 max_calls: int | None = None, reference_column: str | None = None,
                 group_size: int | None = None, backend_wait_s: float | None = None,
                 no_verdict: Literal["raise", "skip"] | None = None, name: str = "rmr1_judge"):
        super().__init__(judge, spec, name)
        base = self.spec or JudgeSpec()
        self.backend_wait_s = backend_wait_s if backend_wait_s is not None else base.backend_wait_s
        self.no_verdict = no_verdict or base.no_verdict
        self.strategy = strategy or base.strategy
        self.max_calls = max_calls if max_calls is not None else base.max_calls
        self.reference_column = reference_column or base.reference_column
        self.group_size = group_size if group_size is not None else base.group_size

    async def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], *,
                       log_extra: Callable[[str, list], None] | None = None,
                       log_metric: Callable[[str, float], None] | None = None,
                       **columns: Any) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        if len(prompts) != len(texts):
            raise ValueError(f"got {len(prompts)} prompts for {len(texts)} completions")
        groups = find_groups(prompts, self.group_size)
        references = columns.get(self.reference_column)
        if uses_reference(self.strategy) and references is None:
            raise ValueError(
                f"strategy='reference' needs a {self.reference_column!r} dataset column with a baseline answer "
                f"per prompt (columns present: {sorted(k for k in columns if k not in _TRL_KWARGS)})"
            )
        gold, tests, task = columns.get("gold"), columns.get("tests"), columns.get("task")
        judge = self.judge

        async def score(group: list[int]) -> Any:
            first = group[0]

            def once() -> Awaitable[Any]:
                return judge.ascore_group(
                    prompts[first], [texts[i] for i in group], strategy=self.strategy, max_calls=self.max_calls,
                    reference=completion_text(references[first]) if uses_reference(self.strategy) else None,
                    gold=None if gold is None else gold[first], tests=None if tests is None else tests[first],
                    task=None if task is None else task[first],
                )

            if self.no_verdict == "skip":
                try:
                    return await once()
                except NoVerdictError as error:
                    return error.scores
            return await ascore_until_judged(once, wait_s=self.backend_wait_s)

        results = await asyncio.gather(*(score(g) for g in groups))
        rewards: list[float | None] = [None] * len(texts)
        rationale = [""] * len(texts)
        calls = 0
        for group, scores in zip(groups, results, strict=True):
            calls += scores.calls
            decided = _decided_candidates(scores, len(group))
            for k, i in enumerate(group):
                rewards[i] = scores.rewards[k] if decided[k] else None
                rationale[i] = _record(scores, k)
        if log_metric is not None and groups:
            log_metric("rmr1/judge_calls", calls / len(groups))
            log_metric("rmr1/no_verdict_rate", sum(r is None for r in rewards) / len(rewards))
            flip_rate = group_flip_rate(results)
            if flip_rate is not None:
                log_metric("rmr1/flip_rate", flip_rate)
        if log_extra is not None:
            log_extra("rmr1_judge_rationale", rationale)
        return rewards


class PairwiseJudgeReward(_JudgeHolder):
    """OnlineDPO's reward: one judge call per prompt for its two completions.

    OnlineDPO calls reward functions with ``prompts = 2 * batch_prompts`` and completions laid out
    ``[p0c0, p1c0, ..., p0c1, p1c1, ...]``; completion ``i`` and ``i + B`` answer the same prompt.
    The winner gets +1, the other -1. Each pair is a group of one comparison, so the no-verdict rule
    of :class:`JudgeReward` applies: a pair without a verdict raises :class:`rmr1_plugin.NoVerdictError`
    and stops training (after retrying a down backend with backoff for ``backend_wait_s`` seconds),
    never a tie. ``no_verdict="skip"`` instead gives such a pair 0/0 (an explicit choice: OnlineDPO has
    no notion of a missing reward, and 0/0 leaves the pair's order to chance).
    Synchronous, because OnlineDPO does not await reward functions.
    """

    def __init__(self, judge: Any = None, *, spec: JudgeSpec | None = None, backend_wait_s: float | None = None,
                 no_verdict: Literal["raise", "skip"] | None = None, name: str = "rmr1_pairwise_judge"):
        super().__init__(judge, spec, name)
        base = self.spec or JudgeSpec()
        self.backend_wait_s = backend_wait_s if backend_wait_s is not None else base.backend_wait_s
        self.no_verdict = no_verdict or base.no_verdict

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], *,
                 log_metric: Callable[[str, float], None] | None = None, **columns: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        if len(texts) % 2 or len(prompts) != len(texts):
            raise ValueError(
                f"OnlineDPO layout expected: 2B completions for 2B prompts, got {len(texts)} and {len(prompts)}"
            )
        half = len(texts) // 2
        pairs = []
        for i in range(half):
            if prompts[i] != prompts[i + half]:
                raise ValueError(
                    f"completions {i} and {i + half} should answer the same prompt (OnlineDPO layout "
                    "[p0c0, p1c0, ..., p0c1, p1c1, ...]) but their prompts differ"
                )
            extras = {k: columns[k][i] for k in ("gold", "tests", "task") if columns.get(k) is not None}
            pairs.append(JudgePair.from_prompt(prompts[i], completion_text(completions[i]),
                                               completion_text(completions[i + half]), **extras))
        judge = self.judge

        async def once() -> list[Any]:
            verdicts = await judge.ajudge(pairs)
            if self.no_verdict == "raise":
                _raise_if_undecided(verdicts)
            return verdicts

        verdicts = run_sync(ascore_until_judged(once, wait_s=self.backend_wait_s))
        rewards = [0.0] * len(texts)
        for i, verdict in enumerate(verdicts):
            if verdict.winner is not None:
                first_wins = verdict.winner == "A"
                rewards[i], rewards[i + half] = (1.0, -1.0) if first_wins else (-1.0, 1.0)
        if log_metric is not None and verdicts:
            log_metric("rmr1/no_verdict_rate", sum(v.winner is None for v in verdicts) / len(verdicts))
        return rewards


# --- pure helpers ----------------------------------------------------------------------------

_TRL_KWARGS = {"trainer_state", "log_extra", "log_metric", "completion_ids", "environments"}


def _raise_if_undecided(verdicts: Sequence[Any]) -> None:
    """Raise :class:`NoVerdictError` when a pair (a group of one comparison) got no verdict."""
    failures = [v.error or "no verdict" for v in verdicts if v.winner is None]
    if failures:
        raise NoVerdictError.from_failures(failures)


def _decided_candidates(scores: Any, n: int) -> list[bool]:
    """Whether each of the first ``n`` candidates took part in at least one decided comparison."""
    decided = [False] * n
    for comparison in scores.comparisons:
        if comparison.winner is not None:
            for index in (comparison.a, comparison.b):
                if index < n:
                    decided[index] = True
    return decided


def _record(scores: Any, k: int) -> str:
    """A completion's record in its group: who it met, who won, and the first judgment text."""
    lines = []
    for c in scores.comparisons:
        if k not in (c.a, c.b):
            continue
        other = c.b if c.a == k else c.a
        name = "reference" if other >= len(scores.rewards) else f"#{other}"
        result = "no verdict" if c.winner is None else ("won" if (c.winner == 0) == (c.a == k) else "lost")
        lines.append(f"vs {name} (shown as {'A' if c.a == k else 'B'}): {result}")
    texts = scores.details.get("texts") if isinstance(scores.details, dict) else None
    summary = "; ".join(lines) or "not compared"
    if texts:
        first = next((t for (a, b), t in texts if k in (a, b)), None) if isinstance(texts, list) else None
        if first:
            summary += "\n" + first[:RATIONALE_CHARS]
    return summary

