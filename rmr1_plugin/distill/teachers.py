"""Where distillation requests go and where their answers are kept.

- :class:`Journal`: an append-only JSONL of every answered request, keyed by the request's content
  address; a rerun reads it and sends only what is missing, so a killed job resumes without judging
  anything twice.
- :class:`OnlineTeacher`: any OpenAI-compatible endpoint through :class:`OpenAIBackend` (its pool:
  several URLs, bounded concurrency, retries with backoff); answers are journalled as they arrive.
- :class:`BatchTeacher`: OpenAI batch-format files -- writes the input JSONL
  (``{"custom_id", "method", "url", "body"}`` per line) and reads back a results file, the format
  of hosted batch APIs and of ``vllm run-batch``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rmr1_plugin.backends.base import Conversation, Generation, GenerationSettings, run_sync
from rmr1_plugin.backends.openai import OpenAIBackend, chat_request, generation_from_completion
from rmr1_plugin.cache import generation_key

log = logging.getLogger(__name__)

#: The endpoint batch files address.
BATCH_URL = "/v1/chat/completions"


@dataclass(frozen=True)
class Request:
    """One teacher call: which pass, for which pair, with which messages."""

    key: str
    pass_number: int
    pair_id: str
    model: str
    messages: Conversation


def make_request(pass_number: int, pair_id: str, model: str, messages: Conversation,
                 settings: GenerationSettings) -> Request:
    """A request whose key is the content address of (model, settings, messages): the same prompt
    to the same teacher is the same request, whichever pair or run asks for it."""
    return Request(generation_key(model, settings, messages), pass_number, pair_id, model, messages)


OnResult = Callable[[Request, Generation], None]


class Teacher(Protocol):
    """Answers distillation requests; returns the ones it could not answer yet (batch mode)."""

    model: str

    def complete(self, requests: list[Request], on_result: OnResult, *, progress: bool = True) -> list[Request]:
        ...


class Journal:
    """Append-only record of answered requests (``judgments.jsonl``), one JSON object per line.

    A line cut short by a kill is ignored on reading. Error answers (timeouts, HTTP errors) are
    recorded for the report but do not count as done: a rerun asks again.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict[str, Any]] = {}
        self.unreadable = 0
        if self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        self.unreadable += 1
                        continue
                    previous = self.records.get(record["key"])
                    if previous is None or previous.get("finish_reason") == "error":
                        self.records[record["key"]] = record
        cut_short = False
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as raw:
                raw.seek(-1, 2)
                cut_short = raw.read(1) != b"\n"
        self._handle = self.path.open("a", encoding="utf-8")
        if cut_short:
            self._handle.write("\n")  # end the line a kill cut short, so the next record starts clean

    def done(self, key: str) -> bool:
        record = self.records.get(key)
        return record is not None and record.get("finish_reason") != "error"

    def append(self, request: Request, generation: Generation) -> None:
        record = {"key": request.key, "pass": request.pass_number, "id": request.pair_id, "model": request.model,
                  **generation.model_dump()}
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        if not self.done(request.key):
            self.records[request.key] = record

    def generation(self, key: str) -> Generation | None:
        record = self.records.get(key)
        return None if record is None else Generation.model_validate(
            {k: v for k, v in record.items() if k in Generation.model_fields})

    def close(self) -> None:
        self._handle.close()


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="req", disable=not enabled or total == 0, dynamic_ncols=True)


class OnlineTeacher:
    """A teacher behind OpenAI-compatible endpoints (vLLM, SGLang, a hosted API).

    >>> teacher = OnlineTeacher(OpenAIBackend("http://127.0.0.1:8000/v1", model="Qwen/QwQ-32B"),
    ...                         GenerationSettings(max_new_tokens=8192))            # doctest: +SKIP
    """

    def __init__(self, backend: OpenAIBackend, settings: GenerationSettings):
        self.backend = backend
        self.settings = settings
        self.model = backend.model

    def complete(self, requests: list[Request], on_result: OnResult, *, progress: bool = True) -> list[Request]:
        if requests:
            run_sync(self._complete(requests, on_result, progress))
        return []

    async def _complete(self, requests: list[Request], on_result: OnResult, progress: bool) -> None:
        # At most twice the backend's concurrency is queued at once, so a million-pair job does not
        # hold a million tasks; each answer is journalled the moment it arrives.
        window = asyncio.Semaphore(2 * self.backend.max_concurrency)
        bar = _progress_bar(len(requests), f"pass {requests[0].pass_number} ({self.model})", progress)

        async def one(request: Request) -> None:
            try:
                [generation] = await self.backend.agenerate([request.messages], self.settings)
            finally:
                window.release()
            on_result(request, generation)
            bar.update(1)

        try:
            async with asyncio.TaskGroup() as group:
                for request in requests:
                    await window.acquire()
                    group.create_task(one(request))
        except* Exception as errors:
            raise errors.exceptions[0] from None
        finally:
            bar.close()


class BatchTeacher:
    """A teacher reached through batch files: hosted batch APIs or ``vllm run-batch``.

    ``complete`` reads the results files that exist (``pass{N}_output.jsonl`` in ``folder`` and any
    in ``results``), answers what they hold, and writes the requests still unanswered to
    ``pass{N}_input.jsonl`` for the user to run; those come back as pending.
    """

    def __init__(self, model: str, settings: GenerationSettings, folder: str | Path, *,
                 results: Iterable[str | Path] = (), extra_body: dict[str, Any] | None = None):
        self.model = model
        self.settings = settings
        self.folder = Path(folder)
        self.results = [Path(p) for p in results]
        self.extra_body = dict(extra_body or {})
        self.unknown_ids = 0

    def input_path(self, pass_number: int) -> Path:
        return self.folder / f"pass{pass_number}_input.jsonl"

    def output_path(self, pass_number: int) -> Path:
        return self.folder / f"pass{pass_number}_output.jsonl"

    def complete(self, requests: list[Request], on_result: OnResult, *, progress: bool = True) -> list[Request]:
        if not requests:
            return []
        pass_number = requests[0].pass_number
        wanted = {r.key: r for r in requests}
        answered = set()
        for path in [self.output_path(pass_number), *self.results]:
            if not path.exists():
                continue
            for custom_id, generation in read_batch_results(path):
                request = wanted.get(custom_id)
                if request is None:
                    self.unknown_ids += custom_id not in answered
                    continue
                if custom_id not in answered:
                    on_result(request, generation)
                    answered.add(custom_id)
        pending = [r for r in requests if r.key not in answered]
        if pending:
            write_batch_input(pending, self.input_path(pass_number), self.settings, self.extra_body)
        return pending


def batch_line(request: Request, settings: GenerationSettings, extra_body: dict[str, Any] | None = None) -> dict:
    """One line of an OpenAI batch input file.

    >>> line = batch_line(make_request(1, "p", "m", [{"role": "user", "content": "Q"}], GenerationSettings()),
    ...                   GenerationSettings())
    >>> line["method"], line["url"], line["body"]["model"], len(line["custom_id"])
    ('POST', '/v1/chat/completions', 'm', 64)
    """
    body = {**chat_request(request.model, request.messages, settings), **(extra_body or {})}
    return {"custom_id": request.key, "method": "POST", "url": BATCH_URL, "body": body}


def write_batch_input(requests: list[Request], path: Path, settings: GenerationSettings,
                      extra_body: dict[str, Any] | None = None) -> Path:
    """Write ``requests`` as an OpenAI batch input file (what ``vllm run-batch -i`` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for request in requests:
            handle.write(json.dumps(batch_line(request, settings, extra_body), ensure_ascii=False) + "\n")
    return path


def read_batch_results(path: str | Path) -> Iterable[tuple[str, Generation]]:
    """``(custom_id, Generation)`` for each line of a batch results file; failed requests and
    malformed lines become error generations (a line without a ``custom_id`` is skipped)."""
    from openai.types.chat import ChatCompletion
    from pydantic import ValidationError

    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name}, line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                log.warning("%s: not JSON (%s); skipped", where, error.msg)
                continue
            custom_id = record.get("custom_id") if isinstance(record, dict) else None
            if not isinstance(custom_id, str):
                log.warning("%s: no custom_id; skipped", where)
                continue
            response = record.get("response") or {}
            status, body = response.get("status_code"), response.get("body")
            if record.get("error") or status != 200 or not isinstance(body, dict):
                detail = record.get("error") or (body.get("error") if isinstance(body, dict) else body)
                yield custom_id, Generation.failed(f"{where}: batch request failed (status {status}): {detail!s:.200}")
                continue
            try:
                completion = ChatCompletion.model_validate(body)
            except ValidationError as error:
                yield custom_id, Generation.failed(f"{where}: malformed chat completion ({error.error_count()} errors)")
                continue
            yield custom_id, generation_from_completion(completion, where)
