"""``rmr1_judge`` against real judge servers on loopback: an external OpenAI-compatible server, and the
same server behind verl's own reward-model router (how verl serves a judge: ``reward_router_address``)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("verl")
uvicorn = pytest.importorskip("uvicorn")
fastapi = pytest.importorskip("fastapi")

from rmr1_verl.manager import EXTRA_KEYS, RMR1JudgeRewardManager  # noqa: E402
from rmr1_verl.recipes import compose_recipe  # noqa: E402

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"
QUESTION = [{"role": "user", "content": "What is 2+2?"}]
ANSWERS = ["The answer is 4.", "It is 5.", "I think 4, surely."]
_BLOCK = re.compile(r"\[The Start of Chatbot ([AB])'s Response\]\n(.*?)\n\[The End of Chatbot \1's Response\]", re.S)


def judge_app(model: str, seen: list[dict]):
    """A deterministic stand-in for an RM-R1 server: prefers the answer that says 4, then the shorter."""
    app = fastapi.FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        seen.append(body)
        if body.get("model") != model:
            return fastapi.responses.JSONResponse({"error": f"model {body.get('model')!r} not served"}, status_code=404)
        answers = dict(_BLOCK.findall(body["messages"][-1]["content"]))
        key = {k: ("4" not in v, len(v)) for k, v in answers.items()}
        winner = min(key, key=key.get)
        text = f"<type>Reasoning</type>\n<solution>4</solution>\n<eval>checked</eval>\n<answer>[[{winner}]]</answer>"
        return {"id": "cmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("loopback server did not start")
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def judge_server(tiny_model_path):
    # vLLM serves a model under its path; verl's reward loop also loads the judge's tokenizer from it.
    seen: list[dict] = []
    for address in serve(judge_app(str(tiny_model_path), seen)):
        yield address, seen


@pytest.fixture
def verl_router(judge_server):
    from verl.experimental.reward_loop.router.naive_router import NaiveRouter

    address, seen = judge_server
    for router in serve(NaiveRouter(worker_urls=[f"http://{address}"]).app):
        yield router, seen


def judge_group(make_manager, make_rollouts) -> dict[str, float]:
    """Send one prompt's three rollouts through the manager, concurrently as verl does; reward per answer."""
    rows = [{"prompt": QUESTION, "response": a, "uid": "q1", "data_source": "chat",
             "reward_model": {"style": "model", "ground_truth": ""}, "extra_info": {}} for a in ANSWERS]
    data = make_rollouts(rows)

    async def run():
        manager = make_manager()  # inside the loop: verl builds managers in its workers' event loop
        return await asyncio.gather(*(manager.run_single(data[i:i + 1]) for i in range(len(rows))))

    outputs = asyncio.run(run())
    assert all(tuple(o["reward_extra_info"]) == EXTRA_KEYS for o in outputs)
    return dict(zip(ANSWERS, (o["reward_score"] for o in outputs), strict=True))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_external_openai_compatible_judge(judge_server, tiny_model_path, tiny_tokenizer, make_rollouts):
    address, seen = judge_server
    cfg = compose_recipe(RECIPES, "policy_grpo_judge_external", [
        f"actor_rollout_ref.model.path={tiny_model_path}", "actor_rollout_ref.rollout.n=3",
        "actor_rollout_ref.rollout.val_kwargs.n=3", "data.train_batch_size=4", "reward.num_workers=1",
        f"reward.reward_kwargs.base_url=http://{address}/v1", f"reward.reward_kwargs.model={tiny_model_path}",
        "reward.reward_kwargs.style=instruct", "reward.reward_kwargs.max_new_tokens=256"])

    reward = judge_group(lambda: RMR1JudgeRewardManager(cfg, tiny_tokenizer), make_rollouts)
    assert reward["The answer is 4."] > reward["I think 4, surely."] > reward["It is 5."]
    assert seen and all(body["max_tokens"] == 256 or body.get("max_completion_tokens") == 256 for body in seen)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_judge_served_by_verl_behind_its_router(verl_router, tiny_model_path, make_rollouts):
    """The served-judge recipe through verl's RewardLoopWorker, given the router's address as verl does."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    router, seen = verl_router
    cfg = compose_recipe(RECIPES, "policy_grpo_judge_served", [
        f"actor_rollout_ref.model.path={tiny_model_path}", "actor_rollout_ref.rollout.n=3",
        "actor_rollout_ref.rollout.val_kwargs.n=3", "data.train_batch_size=4", "reward.num_workers=1",
        f"reward.reward_model.model_path={tiny_model_path}", "reward.reward_kwargs.style=instruct"])
    rows = [{"prompt": QUESTION, "response": a, "uid": "q1", "data_source": "chat",
             "reward_model": {"style": "model", "ground_truth": ""}, "extra_info": {}} for a in ANSWERS]
    data = make_rollouts(rows)

    async def run():
        worker = RewardLoopWorker(cfg, reward_router_address=router)
        assert isinstance(worker.reward_manager, RMR1JudgeRewardManager)
        # what verl's agent loop does for each finished rollout
        return await asyncio.gather(*(worker.compute_score(data[i:i + 1]) for i in range(len(rows))))

    outputs = asyncio.run(run())
    reward = dict(zip(ANSWERS, (o["reward_score"] for o in outputs), strict=True))
    assert reward["The answer is 4."] > reward["I think 4, surely."] > reward["It is 5."]
    assert seen and {body["model"] for body in seen} == {str(tiny_model_path)}
