"""Load RewardBench, RM-Bench and RMB into comparisons (:class:`PreferencePair`) with stable ids.

``--data`` may be a file, a folder (read recursively: RM-Bench's ``data/`` folder, RMB's
``RMB_dataset/`` or any part of it) or a Hugging Face dataset id. Records are read by
:mod:`rmr1_plugin.data` (the same shapes ``rmr1 prepare`` reads); this module adds what scoring
needs in ``pair.meta``:

``rewardbench``  ``subset`` (e.g. ``hep-cpp``).
``rm-bench``     ``domain`` (from the record's ``domain`` field or the file name
                 ``chat_filtered.json`` -> ``chat``), ``group`` (one per record), ``chosen_style``,
                 ``rejected_style``: all nine style combinations are compared.
``rmb``          ``category`` (``category_path``), ``kind`` (``pairwise`` or ``bon``), and for BoN
                 ``group`` (``bon_uid``) and ``loser_index``.

Ids are unique within a benchmark (``chat/8:0:2``, ``pairwise/15089``, ``bon/3294:1``) and do
not depend on file order, so a run can be resumed against the same data.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from rmr1_plugin.data.formats import PreferencePair, RecordError, detect_format, record_to_pairs
from rmr1_plugin.data.io import LOCAL_SUFFIXES, read_records
from rmr1_plugin.evaluate.scoring import RM_BENCH_STYLES, rm_bench_domain

Benchmark = Literal["rewardbench", "rm-bench", "rmb"]
BENCHMARKS: tuple[str, ...] = ("rewardbench", "rm-bench", "rmb")

#: The split a Hugging Face dataset id is read from unless ``split`` is given.
DEFAULT_SPLITS: dict[str, str] = {"rewardbench": "filtered", "rm-bench": "train", "rmb": "train"}
#: The shapes each benchmark's records must have (see :data:`rmr1_plugin.data.FORMATS`).
_FORMATS: dict[str, tuple[str, ...]] = {
    "rewardbench": ("plain",),
    "rm-bench": ("rm-bench",),
    "rmb": ("rmb-pairwise", "rmb-bon"),
}


def load_benchmark(benchmark: str, data: str | Path, *, split: str | None = None,
                   limit: int | None = None) -> list[PreferencePair]:
    """All comparisons of ``benchmark`` in ``data``, in file order.

    ``limit`` keeps the first ``limit`` *records* (so RM-Bench records keep all nine comparisons
    and BoN groups all their losers). Malformed records raise :class:`RecordError` naming the
    file, row and field; duplicate ids raise ``ValueError``.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; expected one of {BENCHMARKS}")
    pairs: list[PreferencePair] = []
    for count, (file_name, where, row, record) in enumerate(
        _records(benchmark, data, split or DEFAULT_SPLITS[benchmark])
    ):
        if limit is not None and count >= limit:
            break
        pairs.extend(_pairs(benchmark, record, where=where, row=row, file_name=file_name))
    if not pairs:
        raise ValueError(f"no {benchmark} records in {data}")
    _check_unique(pairs, benchmark)
    return pairs


#: Folders the benchmarks' own repositories ship their data in (cloned, not on the hub).
LOCAL_LAYOUTS = ("RM-Bench/data", "RMB-Reward-Model-Benchmark/RMB_dataset")


def looks_local(data: str | Path) -> bool:
    """Whether ``data`` reads as a local path rather than a hub dataset id (``owner/name``).

    >>> looks_local("RM-Bench/data"), looks_local("./rb.jsonl"), looks_local("allenai/reward-bench")
    (True, True, False)
    """
    text = str(data)
    return (text.startswith((".", "/", "~")) or text.count("/") >= 2 or Path(text).suffix.lower() in LOCAL_SUFFIXES
            or any(text.rstrip("/").endswith(layout) for layout in LOCAL_LAYOUTS)
            or Path(text.split("/", 1)[0]).is_dir())


def _records(benchmark: str, data: str | Path, split: str) -> Iterable[tuple[str, str, int, dict[str, Any]]]:
    path = Path(data)
    files: list[Path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LOCAL_SUFFIXES)
        if benchmark == "rm-bench" and any(p.name != "total_dataset.json" for p in files):
            # RM-Bench ships the domain files and their concatenation; reading both would count twice.
            files = [p for p in files if p.name != "total_dataset.json"]
        if not files:
            raise FileNotFoundError(f"{path}: no {', '.join(LOCAL_SUFFIXES)} files in this folder")
    elif not path.exists() and looks_local(data):
        raise FileNotFoundError(f"{data}: no such file or folder (a local path, so the hub is not tried); "
                                "check the path, or give a hub dataset id such as allenai/reward-bench")
    else:
        files = [path]
    for file in files:
        records = read_records(file, split=split)
        name = file.name if file.exists() else str(data)
        for row, (where, record) in enumerate(records, 1):
            yield name, where, row, record


def _pairs(benchmark: str, record: Any, *, where: str, row: int, file_name: str) -> list[PreferencePair]:
    if not isinstance(record, dict):
        raise RecordError(where, None, f"expected a JSON object, got {type(record).__name__}")
    fmt = detect_format(record)
    if fmt not in _FORMATS[benchmark]:
        raise RecordError(
            where, None,
            f"not a {benchmark} record: its shape is {fmt or 'unrecognised'} (keys {sorted(record)}), "
            f"expected {' or '.join(_FORMATS[benchmark])}",
        )
    pairs = list(record_to_pairs(record, where=where, row=row, source=benchmark, fmt=fmt,
                                 all_rm_bench_pairs=True))
    if benchmark == "rewardbench":
        if not isinstance(record.get("subset"), str):
            raise RecordError(where, "subset", f"expected the RewardBench subset name, got {record.get('subset')!r}")
        return [p.model_copy(update={"meta": {**p.meta, "subset": record["subset"]}}) for p in pairs]
    if benchmark == "rm-bench":
        domain = record.get("domain") or Path(file_name).stem.removesuffix("_filtered")
        try:
            rm_bench_domain(str(domain))
        except ValueError as exc:
            raise RecordError(where, "domain", f"{exc} (taken from the record or the file name)") from None
        if len(record["chosen"]) != len(RM_BENCH_STYLES):
            raise RecordError(where, "chosen", f"expected {len(RM_BENCH_STYLES)} style variants, got {len(record['chosen'])}")
        # Pair ids are "<record id>:<chosen style>:<rejected style>".
        return [
            p.model_copy(update={
                "id": f"{domain}/{p.id}", "subset": str(domain),
                "meta": {**p.meta, "domain": str(domain), "group": f"{domain}/{p.id.rsplit(':', 2)[0]}"},
            })
            for p in pairs
        ]
    category = record.get("category_path")
    if not isinstance(category, str):
        raise RecordError(where, "category_path", f"expected the RMB category path, got {category!r}")
    kind = "bon" if fmt == "rmb-bon" else "pairwise"
    meta = {"category": category, "kind": kind}
    return [
        # BoN pair ids are "<bon_uid>:<loser index>"; the group is the record.
        p.model_copy(update={"id": f"{kind}/{p.id}", "meta": {
            **p.meta, **meta, **({"group": f"bon/{p.id.rsplit(':', 1)[0]}"} if kind == "bon" else {})}})
        for p in pairs
    ]


def _check_unique(pairs: list[PreferencePair], benchmark: str) -> None:
    seen: set[str] = set()
    for pair in pairs:
        if pair.id in seen:
            raise ValueError(
                f"{benchmark}: two comparisons share the id {pair.id!r}; ids must be unique so a run can be "
                "resumed (is a file given twice, or the concatenated and the split files together?)"
            )
        seen.add(pair.id)


def category_of(benchmark: str, pair: PreferencePair) -> str:
    """The category a comparison is reported under: subset, RM-Bench domain or RMB category path."""
    if benchmark == "rewardbench":
        return pair.meta["subset"]
    if benchmark == "rm-bench":
        return pair.meta["domain"]
    return pair.meta["category"]
