"""Read records from local JSON / JSONL / Parquet files or a Hugging Face dataset id, and write rows."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rmr1_plugin.data.formats import RecordError

LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")


def example_file(name: str) -> str:
    """Path of an example file shipped with the package (``rmr1_plugin/data/examples/<name>``).

    >>> example_file("pairs.jsonl").endswith("examples/pairs.jsonl")
    True
    """
    from importlib import resources

    return str(resources.files("rmr1_plugin.data").joinpath("examples", name))


def read_records(source: str | Path, *, split: str = "train") -> list[tuple[str, dict[str, Any]]]:
    """All records of a file (or dataset), each with a ``where`` string for error messages.

    A ``.json`` file holds a list of objects (or ``{"data": [...]}``); a ``.jsonl`` file one object
    per line; a ``.parquet`` file one row per record. Anything that is not a local path is loaded
    with :func:`datasets.load_dataset` (needs network access to the Hub).

    Rows are numbered from 1 in messages (lines for JSONL).
    """
    path = Path(source)
    if path.exists():
        if path.is_dir():
            raise ValueError(f"{path} is a directory; pass a .json, .jsonl or .parquet file")
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return list(_read_jsonl(path))
        if suffix == ".json":
            return _read_json(path)
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return [(f"{path.name}, row {i}", row) for i, row in enumerate(pq.read_table(path).to_pylist(), 1)]
        raise ValueError(f"{path}: unsupported file type {suffix!r}; expected one of {LOCAL_SUFFIXES}")
    if str(source).endswith(LOCAL_SUFFIXES):
        raise FileNotFoundError(f"no such file: {source}")
    import datasets

    dataset = datasets.load_dataset(str(source), split=split)
    return [(f"{source}[{split}], row {i}", dict(row)) for i, row in enumerate(dataset, 1)]


def _read_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name}, line {line_number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(where, None, f"invalid JSON ({exc.msg} at column {exc.colno})") from None


def _read_json(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path.name}", None, f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise RecordError(path.name, None, f"expected a list of records, got {type(data).__name__}")
    return [(f"{path.name}, row {i}", record) for i, record in enumerate(data, 1)]


def write_rows(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write rows as JSONL or Parquet (chosen by the suffix); parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        import datasets

        datasets.Dataset.from_list(list(rows)).to_parquet(str(path))
    elif path.suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        raise ValueError(f"{path}: write .jsonl or .parquet")
    return path
