"""``rmr1 distill`` on CPU against the quickstart's programmatic teacher on loopback: what the two
passes keep and drop, how fast requests go through the openai backend, what a resumed run costs,
and the batch-file round trip.

The teacher (``rmr1_plugin.quickstart.teacher.sum_teacher``) judges one-digit sums and is wrong on
a fixed quarter of the pairs in pass 1, as RM-R1's zero-shot teachers were; given the verdict in
pass 2 it writes the correct chain. Its "inference" costs nothing, so the rates measure our side
(prompt building, the openai client, the server, filters, the journal).

    python benchmarks/distill_local_teacher.py              # 1000 pairs
    python benchmarks/distill_local_teacher.py --pairs 200
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from rmr1_plugin.cli import main
from rmr1_plugin.quickstart.teacher import ProgrammaticServer, sum_pair_records, sum_teacher


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    assert main(argv) == 0
    return time.perf_counter() - start


def run_batch(input_path: Path, output_path: Path, server: ProgrammaticServer) -> None:
    """What ``vllm run-batch`` would do with the input file, against the same teacher."""
    import httpx

    with httpx.Client(timeout=60) as client, output_path.open("w") as out:
        for line in input_path.read_text().splitlines():
            request = json.loads(line)
            body = client.post(server.base_url + "/chat/completions", json=request["body"]).json()
            out.write(json.dumps({"custom_id": request["custom_id"], "response": {"status_code": 200, "body": body},
                                  "error": None}) + "\n")


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, ProgrammaticServer(sum_teacher()) as server:
        root = Path(tmp)
        pairs = root / "pairs.jsonl"
        pairs.write_text("".join(json.dumps(r) + "\n" for r in sum_pair_records(args.pairs)))
        common = [str(pairs), "--teacher", server.model, "--no-progress"]
        online = common + ["--base-url", server.base_url, "--concurrency", str(args.concurrency), "--out",
                           str(root / "online")]
        first = timed(["distill", *online])
        report = json.loads((root / "online" / "report.json").read_text())
        requests = report["pass1"]["requests"] + report["pass2"]["requests"]
        again = timed(["distill", *online])
        batch = common + ["--batch", "--out", str(root / "batch")]
        batch_seconds = timed(["distill", *batch])
        for number in (1, 2):
            folder = root / "batch" / "batch"
            run_batch(folder / f"pass{number}_input.jsonl", folder / f"pass{number}_output.jsonl", server)
            batch_seconds += timed(["distill", *batch])
        same = (root / "batch" / "chains.jsonl").read_text() == (root / "online" / "chains.jsonl").read_text()
    print(f"\nonline: {requests} requests in {first:.1f} s ({requests / first:.0f} requests/s, concurrency "
          f"{args.concurrency}); rerun (all resumed): {again:.1f} s; batch-file mode, three runs without the "
          f"teacher's time: {batch_seconds:.1f} s, chains identical to online: {same}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main_())
