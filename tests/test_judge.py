"""The Judge: prompts in both orders, votes, cache, verifier routing, errors, group scores.

The backend is the replay backend serving scripted RM-R1-style outputs, so every test runs the
real prompt builder, cache, parser and combination logic deterministically.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from rmr1_plugin.backends import GenerationSettings, ReplayBackend
from rmr1_plugin.cache import GenerationCache
from rmr1_plugin.judge import Judge, JudgeConfig, JudgeError, JudgePair, verifier_outcome

SAMPLED = GenerationSettings(temperature=0.7, max_new_tokens=256)


def output(winner: str) -> str:
    return (f"<type>Chat</type>\n<rubric>helpfulness</rubric>\n<eval><quote_A>...</quote_A> vs "
            f"<summary_B>...</summary_B></eval>\n<answer>[[{winner}]]</answer>")


def records_for(pair: JudgePair, in_order: str, swapped: str | None = None, *, style="instruct", seed=None,
                finish_reason="stop"):
    """Recorded outputs for a pair: ``in_order`` for the given order, ``swapped`` for the reverse
    (winners are in each prompt's own A/B terms)."""
    rows = [{"messages": pair.messages(style, True, False), "text": output(in_order), "finish_reason": finish_reason}]
    if swapped is not None:
        rows.append({"messages": pair.messages(style, True, True), "text": output(swapped), "finish_reason": finish_reason})
    if seed is not None:
        for row in rows:
            row["seed"] = seed
    return rows


def by_quality(question, candidates, quality, *, always_a=()):
    """Records for every ordered pair of candidates: the better one wins, except that pairs in
    ``always_a`` get a judge that always answers A (position bias)."""
    rows = []
    for i, j in itertools.permutations(range(len(candidates)), 2):
        pair = JudgePair(question=question, answer_a=candidates[i], answer_b=candidates[j])
        winner = "A" if frozenset((i, j)) in always_a or quality[i] > quality[j] else "B"
        rows += records_for(pair, winner)
    return rows


PAIR = JudgePair(question="What is 2+2?", answer_a="4", answer_b="5")


def test_a_verdict_comes_back_in_the_callers_order():
    judge = Judge(ReplayBackend.from_records(records_for(PAIR, "A", "B")), JudgeConfig(swap="both"))
    [verdict] = judge.judge([PAIR])
    assert verdict.winner == "A" and verdict.score == 1.0 and verdict.label == "model_a"
    assert verdict.swapped == [False, True] and [j.winner for j in verdict.judgments] == ["A", "B"]
    assert verdict.flipped is False and verdict.error is None


def test_a_position_flip_is_no_verdict_and_counts_in_the_flip_rate():
    judge = Judge(ReplayBackend.from_records(records_for(PAIR, "A", "A")), JudgeConfig(swap="both"))
    [verdict] = judge.judge([PAIR])
    assert verdict.winner is None and verdict.flipped is True and "position flip" in verdict.error
    assert judge.stats.flip_rate == 1.0


def test_swap_none_judges_one_order():
    judge = Judge(ReplayBackend.from_records(records_for(PAIR, "B")))
    [verdict] = judge.judge([PAIR])
    assert verdict.winner == "B" and verdict.flipped is None and judge.stats.requests == 1


def test_on_disagreement_swaps_only_when_the_first_look_is_not_decisive():
    unclear = JudgePair(question="Q", answer_a="x", answer_b="y")
    rows = records_for(PAIR, "A", "B") + [
        {"messages": unclear.messages("instruct", True), "text": "I cannot decide."},
        {"messages": unclear.messages("instruct", True, True), "text": output("A")},
    ]
    judge = Judge(ReplayBackend.from_records(rows), JudgeConfig(swap="on_disagreement"))
    clear, second = judge.judge([PAIR, unclear])
    assert clear.winner == "A" and clear.swapped == [False]
    assert second.swapped == [False, True] and second.winner == "B"  # the swapped order's "A" is y
    assert judge.stats.requests == 3


def test_votes_take_the_majority_or_the_mean():
    rows = []
    for seed, winner in enumerate(["A", "A", "B"]):
        rows += records_for(PAIR, winner, seed=seed)
    backend = ReplayBackend.from_records(rows)
    [majority] = Judge(backend, JudgeConfig(votes=3, generation=SAMPLED)).judge([PAIR])
    [mean] = Judge(backend, JudgeConfig(votes=3, vote="mean", generation=SAMPLED)).judge([PAIR])
    assert majority.winner == mean.winner == "A" and len(majority.judgments) == 3
    assert majority.score == 1.0 and mean.score == pytest.approx(1 / 3)


def test_votes_need_sampling():
    with pytest.raises(ValueError, match="votes=3 needs sampling"):
        JudgeConfig(votes=3)


def test_repeated_and_swapped_comparisons_come_from_the_cache():
    reverse = JudgePair(question=PAIR.question, answer_a=PAIR.answer_b, answer_b=PAIR.answer_a)
    judge = Judge(ReplayBackend.from_records(records_for(PAIR, "A", "B")), JudgeConfig(swap="both"))
    judge.judge([PAIR])
    assert judge.stats.generated == 2
    again, flipped_pair = judge.judge([PAIR, reverse])
    assert judge.stats.generated == 2 and judge.stats.cache_hits == 4
    assert again.winner == "A" and flipped_pair.winner == "B"


def test_identical_prompts_in_one_batch_generate_once():
    judge = Judge(ReplayBackend.from_records(records_for(PAIR, "A")))
    assert [v.winner for v in judge.judge([PAIR] * 5)] == ["A"] * 5
    assert judge.stats.generated == 1


def test_the_disk_cache_survives_a_restart(tmp_path):
    path = tmp_path / "judge-cache.sqlite"
    with GenerationCache(path) as cache:
        Judge(ReplayBackend.from_records(records_for(PAIR, "A", "B"), model_id="judge-7b"), JudgeConfig(swap="both"),
              cache).judge([PAIR])
    # A new process: same model id, a backend that knows nothing — every answer must come from disk.
    with GenerationCache(path) as cache:
        assert len(cache) == 2
        judge = Judge(ReplayBackend.from_records([], model_id="judge-7b", missing="raise"), JudgeConfig(swap="both"),
                      cache, verifier=False)
        [verdict] = judge.judge([PAIR])
    assert verdict.winner == "A" and judge.stats.cache_hits == 2 and judge.stats.generated == 0


def test_the_cache_key_separates_models_and_settings():
    cache = GenerationCache()
    Judge(ReplayBackend.from_records(records_for(PAIR, "A"), model_id="m1"), cache=cache).judge([PAIR])
    other = Judge(ReplayBackend.from_records(records_for(PAIR, "B"), model_id="m2"), cache=cache)
    assert other.judge([PAIR])[0].winner == "B" and other.stats.cache_hits == 0


def test_a_truncated_judgment_is_no_verdict_not_a_loss():
    cut = {"messages": PAIR.messages("instruct", True), "text": "<type>Chat</type><eval>A is", "finish_reason": "length"}
    [verdict] = Judge(ReplayBackend.from_records([cut])).judge([PAIR])
    assert verdict.winner is None and verdict.score is None
    assert verdict.error == "no verdict: truncated at max_new_tokens=4096"
    # A verdict completed exactly at the limit still counts.
    [complete] = Judge(ReplayBackend.from_records(records_for(PAIR, "A", finish_reason="length"))).judge([PAIR])
    assert complete.winner == "A"


def test_backend_failures_become_reasoned_none_verdicts_or_raise():
    missing = JudgePair(question="unseen", answer_a="a", answer_b="b")
    backend = ReplayBackend.from_records(records_for(PAIR, "A"))
    good, bad = Judge(backend).judge([PAIR, missing])
    assert good.winner == "A"
    assert bad.winner is None and "backend error" in bad.error and "no recorded generation" in bad.error
    with pytest.raises(JudgeError, match="no recorded generation"):
        Judge(backend, JudgeConfig(on_error="raise")).judge([PAIR, missing])


def test_a_backend_that_raises_fails_the_batch_visibly():
    backend = ReplayBackend.from_records([], missing="raise")
    verdicts = Judge(backend).judge([PAIR, PAIR.model_copy(update={"answer_b": "6"})])
    assert [v.winner for v in verdicts] == [None, None]
    assert all("BackendError" in v.error for v in verdicts)
    with pytest.raises(JudgeError, match="BackendError"):
        Judge(backend, JudgeConfig(on_error="raise")).judge([PAIR])


def exact_match(completion, *, gold, tests, task):
    if gold is None:
        return None
    return {"status": "correct" if completion.strip() == gold else "incorrect"}


def test_the_verifier_decides_before_the_judge_is_asked():
    math_pair = PAIR.model_copy(update={"gold": "4", "task": "math"})
    both_right = JudgePair(question="1+3?", answer_a="4", answer_b=" 4", gold="4", task="math")
    backend = ReplayBackend.from_records(records_for(both_right, "B"), missing="raise")
    decided, judged = Judge(backend, verifier=exact_match).judge([math_pair, both_right])
    assert decided.winner == "A" and decided.source == "verifier" and decided.verification == (True, False)
    assert judged.winner == "B" and judged.source == "judge"


def test_pairs_without_gold_or_a_verifiable_task_go_to_the_judge():
    chat = PAIR.model_copy(update={"gold": "4", "task": "chat"})
    judge = Judge(ReplayBackend.from_records(records_for(chat, "B")), verifier=exact_match)
    assert judge.judge([chat])[0].source == "judge"


def test_verifier_results_are_read_by_status():
    class Result:
        status = "timeout"

    assert verifier_outcome({"status": "passed"}) is True
    assert verifier_outcome({"status": "incorrect"}) is False
    assert verifier_outcome(Result()) is None and verifier_outcome(None) is None


def test_conversation_pairs_are_judged():
    convo = JudgePair(conversation_a=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                                      {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Bye!"}],
                      conversation_b=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away"},
                                      {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "..."}])
    judge = Judge(ReplayBackend.from_records(records_for(convo, "A", "B")), JudgeConfig(swap="both"))
    assert judge.judge([convo])[0].winner == "A"


@pytest.mark.parametrize("bad,message", [
    ({"question": "q", "answer_a": "a"}, r"pair 0: .*missing \['answer_b'\]"),
    ({"question": "q", "answer_a": "a", "answer_b": "b", "conversation_a": []}, "not both"),
    ("a string", "pair 0: expected a JudgePair or a dict"),
])
def test_bad_pairs_are_named(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Judge(ReplayBackend.from_records([])).judge([bad])


CANDIDATES = ["four", "4", "5", "22", "2+2"]
QUALITY = [0.5, 2.0, -1.0, -2.0, 1.0]


@pytest.mark.parametrize("strategy", ["round_robin", "knockout", "circular", "adaptive"])
def test_score_group_ranks_completions(strategy):
    judge = Judge(ReplayBackend.from_records(by_quality("What is 2+2?", CANDIDATES, QUALITY)))
    scores = judge.score_group("What is 2+2?", CANDIDATES, strategy=strategy)
    assert len(scores.rewards) == 5 and all(-1 <= r <= 1 for r in scores.rewards)
    assert max(range(5), key=lambda i: scores.rewards[i]) == 1
    assert scores.details["judged_pairs"] == scores.calls
    # Every judged comparison keeps the judge's own text, for trainers that log rationales.
    assert len(scores.details["texts"]) == scores.calls
    assert all(isinstance(text, str) and text for _, text in scores.details["texts"])
    assert [pair for pair, _ in scores.details["texts"]] == [(c.a, c.b) for c in scores.comparisons]


def test_score_group_against_a_reference_answer():
    candidates = CANDIDATES + ["baseline"]
    judge = Judge(ReplayBackend.from_records(by_quality("What is 2+2?", candidates, QUALITY + [0.0])))
    scores = judge.score_group("What is 2+2?", CANDIDATES, strategy="reference", reference="baseline")
    assert scores.rewards == [1.0, 1.0, -1.0, -1.0, 1.0] and scores.calls == 10


def test_score_group_verifies_each_completion_once_and_judges_only_ties():
    calls = []

    def counting(completion, **fields):
        calls.append(completion)
        return exact_match(completion, **fields)

    candidates = ["4", "5", "4.0", "6"]
    quality = [1.0, 0.0, 0.5, -1.0]
    judge = Judge(ReplayBackend.from_records(by_quality("2+2?", candidates, quality)), verifier=counting)
    scores = judge.score_group("2+2?", candidates, strategy="round_robin", gold="4", task="math")
    assert sorted(calls) == sorted(candidates)
    assert scores.details["verification"] == [True, False, False, False]
    assert scores.details["verified_pairs"] == 6 and scores.details["judged_pairs"] == 6
    assert scores.rewards[0] == 1.0


def test_score_group_async_and_conversational_prompts():
    prompt = [{"role": "user", "content": "What is 2+2?"}]
    rows = []
    for i, j in itertools.permutations(range(3), 2):
        pair = JudgePair(conversation_a=prompt + [{"role": "assistant", "content": CANDIDATES[i]}],
                         conversation_b=prompt + [{"role": "assistant", "content": CANDIDATES[j]}])
        rows += records_for(pair, "A" if QUALITY[i] > QUALITY[j] else "B")
    judge = Judge(ReplayBackend.from_records(rows))
    scores = asyncio.run(judge.ascore_group(prompt, CANDIDATES[:3], strategy="round_robin"))
    assert scores.rewards == [0.0, 1.0, -1.0]


def test_score_group_rejects_misuse():
    judge = Judge(ReplayBackend.from_records([]))
    with pytest.raises(ValueError, match="needs reference"):
        judge.score_group("q", ["a", "b"], strategy="reference")
    with pytest.raises(TypeError, match="completion 1"):
        judge.score_group("q", ["a", None], strategy="circular")


def test_a_batch_verifier_is_called_once_per_batch():
    from rmr1_plugin.judge import BatchVerifier

    batches = []

    def batch(completions, *, golds, tests, tasks):
        batches.append(len(completions))
        return [exact_match(c, gold=g, tests=t, task=k) for c, g, t, k in zip(completions, golds, tests, tasks, strict=True)]

    verifier = BatchVerifier(exact_match, batch)
    pairs = [PAIR.model_copy(update={"gold": "4", "task": "math"}),
             JudgePair(question="3+3?", answer_a="7", answer_b="6", gold="6", task="math")]
    verdicts = Judge(ReplayBackend.from_records([], missing="raise"), verifier=verifier).judge(pairs)
    assert [v.winner for v in verdicts] == ["A", "B"] and batches == [4]


def test_a_failing_verifier_leaves_the_pair_to_the_judge():
    def broken(completion, **fields):
        raise RuntimeError("sandbox down")

    pair = PAIR.model_copy(update={"gold": "4", "task": "math"})
    [verdict] = Judge(ReplayBackend.from_records(records_for(pair, "B")), verifier=broken).judge([pair])
    assert verdict.source == "judge" and verdict.winner == "B"


def test_the_default_verifier_is_the_verify_module_when_present():
    from rmr1_plugin import verify

    judge = Judge(ReplayBackend.from_records([], missing="raise"))
    assert judge.verifier is not None and judge.verifier.one is verify.route
    pair = JudgePair(question="What is 6*7?", answer_a="The answer is \\boxed{42}.",
                     answer_b="The answer is \\boxed{41}.", gold="42", task="math")
    [verdict] = judge.judge([pair])
    assert verdict.source == "verifier" and verdict.winner == "A"


def test_concurrent_group_scorings_on_one_judge_each_count_their_own_flips():
    from rmr1_plugin.judge import group_flip_rate

    class SlowReplay:
        """The replay backend, answering after a pause so the two scorings interleave."""

        def __init__(self, inner):
            self.inner, self.model_id = inner, inner.model_id

        def generate(self, conversations, settings):
            return self.inner.generate(conversations, settings)

        async def agenerate(self, conversations, settings):
            await asyncio.sleep(0.01)
            return await self.inner.agenerate(conversations, settings)

    three = ["x", "y", "z"]
    rows = (by_quality("p?", three, [0.0, 1.0, 2.0], always_a={frozenset((0, 1))})
            + by_quality("q?", three, [0.0, 1.0, 2.0]))
    judge = Judge(SlowReplay(ReplayBackend.from_records(rows)), JudgeConfig(swap="both"), cache=False, verifier=False)

    async def both():
        return await asyncio.gather(judge.ascore_group("p?", three, strategy="round_robin"),
                                    judge.ascore_group("q?", three, strategy="round_robin"))

    flippy, steady = asyncio.run(both())
    assert (flippy.flips, flippy.both_orders, steady.flips, steady.both_orders) == (2, 6, 0, 6)
    assert (flippy.flip_rate, steady.flip_rate) == (pytest.approx(1 / 3), 0.0)
    assert group_flip_rate([flippy]) == pytest.approx(1 / 3) and group_flip_rate([steady]) == 0.0
    assert judge.stats.flip_rate == pytest.approx(1 / 6)  # the shared counters add up both callers
