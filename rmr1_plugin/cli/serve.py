"""``rmr1 serve``: the RM-R1 judge as an HTTP reward service."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

NAME = "serve"
HELP = "serve the judge over HTTP: /judge, /score, OpenRLHF's /get_reward, /health, /metrics"
DESCRIPTION = """\
Serve an RM-R1 judge as a reward service for remote-reward trainers (OpenRLHF --remote_rm_url,
verl and TRL reward functions through rmr1_plugin.client, your own code).

Routes:
  POST /judge       pairs -> verdicts (winner A/B, task type, rubric/eval text on request)
  POST /score       groups of completions per prompt -> one reward in [-1, 1] per completion
  POST /get_reward  OpenRLHF's remote reward protocol ({"query", "prompts", "labels"} -> {"rewards"})
  GET  /health      200 when the judge backend answers, else 503 with the reason
  GET  /metrics     Prometheus text
  GET  /docs        the request and response schemas

Under load the server judges --max-active requests at once (a request expected to need much judge
work takes several of those slots), queues --max-queued more and answers 429 with Retry-After
beyond that. A request that may need more than --max-request-calls judge calls is refused (422).
Slow clients are cut off: --header-timeout, --body-timeout (408), --max-connections. Clients send Idempotency-Key so retries are never judged twice,
and X-Request-Timeout to shorten the deadline. On SIGTERM/Ctrl-C it stops accepting requests and
finishes the accepted ones (up to --graceful-timeout seconds).

Auth is off unless a token is configured: put it in the environment variable named by
--token-env (default RMR1_SERVER_TOKEN) or in --token-file; clients then send
'Authorization: Bearer <token>'.

Examples:
  # an OpenAI-compatible judge server (vLLM, SGLang, transformers serve) behind the reward server
  rmr1 serve --backend openai --model gaotang/RM-R1-Qwen2.5-Instruct-7B \\
      --base-url http://127.0.0.1:8001/v1 --port 8000
  # recorded judge outputs (deterministic tests, re-scoring logs)
  rmr1 serve --backend replay --backend-option path=judge_outputs.jsonl
"""

TOKEN_ENV = "RMR1_SERVER_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    judge = parser.add_argument_group("judge")
    judge.add_argument(
        "--backend",
        required=True,
        choices=("openai", "replay", "transformers", "vllm"),
        help="where judge generations come from",
    )
    judge.add_argument(
        "--model",
        help="the judge: served model name (openai) or model id/local path (transformers, vllm)",
    )
    judge.add_argument(
        "--base-url",
        action="append",
        dest="base_urls",
        metavar="URL",
        help="OpenAI-compatible endpoint (repeat to balance over several)",
    )
    judge.add_argument(
        "--backend-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra backend option, VALUE read as JSON when it parses; repeatable. replay: "
        "path=FILE (required); openai: timeout, max_retries, max_concurrency, ...",
    )
    judge.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="openai: environment variable holding the endpoint's API key (default %(default)s)",
    )
    judge.add_argument(
        "--style",
        choices=("auto", "instruct", "reasoning"),
        default="auto",
        help="judge prompt style: instruct (Qwen2.5-Instruct judges), reasoning (R1-distilled); auto (default) "
        "follows --model's name, instruct when it does not say",
    )
    judge.add_argument(
        "--swap",
        choices=("none", "both", "on_disagreement"),
        default="none",
        help="position debiasing: judge each pair in both orders (default none)",
    )
    judge.add_argument(
        "--votes", type=int, default=1, help="sampled judgments per comparison (default 1)"
    )
    judge.add_argument(
        "--max-new-tokens",
        type=int,
        help="judge output length limit; a judgment cut off there has no verdict (default: 8192 for the "
        "reasoning style, 4096 for instruct)",
    )
    judge.add_argument(
        "--temperature", type=float, help="judge sampling temperature (default 0: greedy)"
    )
    judge.add_argument(
        "--strategy",
        choices=_strategies(),
        help="ranking strategy of /score (when a request names none) and /get_reward "
        "(default adaptive)",
    )
    judge.add_argument(
        "--group-size",
        type=int,
        default=1,
        help="/get_reward: rank responses to the same prompt from separate requests together, "
        "once this many arrived (OpenRLHF: its n_samples_per_prompt; default 1 = off)",
    )
    judge.add_argument(
        "--group-wait",
        type=float,
        default=5.0,
        help="/get_reward with --group-size: seconds to wait for the rest of a group (default 5)",
    )
    judge.add_argument(
        "--cache-file",
        help="SQLite file keeping judge generations across restarts (default: in memory)",
    )
    judge.add_argument(
        "--no-neutralize", action="store_true", help="turn off the verdict-injection defence"
    )

    server = parser.add_argument_group("server")
    server.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    server.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    limits = _limit_defaults()
    server.add_argument(
        "--max-active",
        type=int,
        default=limits["max_active"],
        help="requests judged at once (default %(default)s)",
    )
    server.add_argument(
        "--max-queued",
        type=int,
        default=limits["max_queued"],
        help="requests waiting beyond those; more get 429 (default %(default)s)",
    )
    server.add_argument(
        "--max-body-mb",
        type=float,
        default=limits["max_body_bytes"] / 2**20,
        help="largest request body in MiB (default %(default)s)",
    )
    server.add_argument(
        "--max-items",
        type=int,
        default=limits["max_items"],
        help="pairs, groups or queries per request (default %(default)s)",
    )
    server.add_argument(
        "--max-group",
        type=int,
        default=limits["max_group"],
        help="completions per group (default %(default)s)",
    )
    server.add_argument(
        "--max-chars",
        type=int,
        default=limits["max_chars"],
        help="characters per text field (default %(default)s)",
    )
    server.add_argument(
        "--timeout",
        type=float,
        default=limits["timeout_s"],
        help="request deadline in seconds, unless the client sends a shorter X-Request-Timeout "
        "(default %(default)s)",
    )
    server.add_argument(
        "--max-timeout",
        type=float,
        default=limits["max_timeout_s"],
        help="largest X-Request-Timeout a client may ask for (default %(default)s)",
    )
    server.add_argument(
        "--max-request-calls",
        type=int,
        default=limits["max_request_calls"],
        help="judge calls one request may need at most, summed over its pairs or groups; a "
        "larger request is refused with 422 (default %(default)s)",
    )
    server.add_argument(
        "--health-timeout",
        type=float,
        default=limits["health_timeout_s"],
        help="seconds /health waits for the backend's one-token probe (default %(default)s)",
    )
    server.add_argument(
        "--body-timeout",
        type=float,
        default=limits["body_timeout_s"],
        help="seconds to receive a request body before answering 408 (default %(default)s)",
    )
    server.add_argument(
        "--header-timeout",
        type=float,
        default=limits["header_timeout_s"],
        help="seconds to receive a request's headers before closing the connection "
        "(default %(default)s)",
    )
    server.add_argument(
        "--max-connections",
        type=int,
        default=limits["max_connections"],
        help="open connections at most; more are answered 503 and closed (default %(default)s)",
    )
    server.add_argument(
        "--graceful-timeout",
        type=float,
        default=None,
        help="seconds to finish accepted requests on shutdown (default: --timeout)",
    )
    server.add_argument(
        "--token-env",
        default=TOKEN_ENV,
        help=f"environment variable holding the bearer token (default {TOKEN_ENV})",
    )
    server.add_argument("--token-file", help="file holding the bearer token")


def _strategies() -> tuple[str, ...]:
    from rmr1_plugin.types import STRATEGIES

    return STRATEGIES


def _limit_defaults() -> dict:
    """The server's defaults, from :class:`~rmr1_plugin.server.settings.ServerSettings` (one source)."""
    from rmr1_plugin.server.settings import ServerSettings

    return {name: field.default for name, field in ServerSettings.model_fields.items()}


def backend_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`rmr1_plugin.backends.make_backend` from the flags.

    >>> backend_options(argparse.Namespace(model="m", base_urls=["http://a/v1"], backend_option=["timeout=30"]))
    {'model': 'm', 'base_urls': ['http://a/v1'], 'timeout': 30}
    """
    options: dict = {}
    if args.model:
        options["model"] = args.model
    if args.base_urls:
        options["base_urls"] = list(args.base_urls)
    from rmr1_plugin.backends import parse_backend_options

    options.update(parse_backend_options(args.backend_option))
    return options


def read_token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        token = Path(args.token_file).read_text().strip()
        if not token:
            raise ValueError(f"--token-file {args.token_file} is empty")
        return token
    return os.environ.get(args.token_env) or None


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from rmr1_plugin.backends import GenerationSettings, make_backend
    from rmr1_plugin.judge import JudgeConfig
    from rmr1_plugin.server.app import create_app
    from rmr1_plugin.server.service import RewardService
    from rmr1_plugin.server.settings import ServerSettings
    from rmr1_plugin.settings import DEFAULT_MAX_NEW_TOKENS, resolve_style

    log = logging.getLogger("rmr1_plugin.server")
    try:
        token = read_token(args)
        settings = ServerSettings(
            max_active=args.max_active,
            max_queued=args.max_queued,
            max_body_bytes=int(args.max_body_mb * 2**20),
            max_items=args.max_items,
            max_group=args.max_group,
            max_chars=args.max_chars,
            timeout_s=args.timeout,
            max_timeout_s=args.max_timeout,
            max_request_calls=args.max_request_calls,
            health_timeout_s=args.health_timeout,
            body_timeout_s=args.body_timeout,
            header_timeout_s=args.header_timeout,
            max_connections=args.max_connections,
            token=token,
        )
        style = resolve_style(args.style, args.model)
        generation = {"max_new_tokens": args.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[style]}
        if args.temperature is not None:
            generation["temperature"] = args.temperature
        config = JudgeConfig(
            style=style,
            swap=args.swap,
            votes=args.votes,
            neutralize=not args.no_neutralize,
            generation=GenerationSettings(**generation),
        )
        options = backend_options(args)
        if args.backend == "openai" and os.environ.get(args.api_key_env):
            options.setdefault("api_key", os.environ[args.api_key_env])
        backend = make_backend(args.backend, **options)
        cache = _cache(args.cache_file)
        service = RewardService(
            backend,
            config,
            cache=cache,
            strategy=args.strategy,
            group_size=args.group_size,
            group_wait_s=args.group_wait,
        )
    except (ValueError, OSError) as exc:
        print(f"rmr1 serve: error: {exc}", file=sys.stderr)
        return 2
    app = create_app(service, settings)
    log.info(
        "judge %s via %s backend; auth %s; %d active, %d queued; listening on http://%s:%d",
        service.model_id,
        args.backend,
        "on" if token else "off",
        settings.max_active,
        settings.max_queued,
        args.host,
        args.port,
    )
    from rmr1_plugin.server.connections import guarded_protocol

    graceful = args.graceful_timeout if args.graceful_timeout is not None else args.timeout
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=graceful,
        http=guarded_protocol(settings.max_connections, settings.header_timeout_s),
    )
    return 0


def _cache(path: str | None):
    from rmr1_plugin.cache import GenerationCache

    return GenerationCache(path)
