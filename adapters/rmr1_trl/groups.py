"""Find each prompt's completions in a TRL reward batch, and refuse layouts that split them.

GRPO and RLOO repeat every prompt G times (``num_generations``) and keep the copies adjacent;
each process scores its own slice of the global batch. When the per-process slice is not a
multiple of G, a prompt's completions straddle two processes and no process sees the whole
group -- group-relative judging would silently compare a partial group. These functions find the
groups and raise a clear error when the slice cannot hold whole groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmr1_trl.text import prompt_key


class GroupLayoutError(ValueError):
    """The completions of one prompt are not all in this batch (they straddle processes)."""


_FIX = (
    "make the per-device generation batch (per_device_train_batch_size x steps_per_generation) a "
    "multiple of num_generations, and pass group_size=num_generations (or RMR1_GROUP_SIZE)"
)


def find_groups(prompts: Sequence[Any], group_size: int | None = None) -> list[list[int]]:
    """Index lists, one per prompt group, in batch order.

    With ``group_size`` (TRL's ``num_generations``), the batch must be whole consecutive chunks
    of that size, each with a single prompt. Without it, runs of equal prompts form the groups,
    and they must all have the same size (a short first or last run means a straddled group).

    >>> find_groups(["p", "p", "q", "q"], group_size=2)
    [[0, 1], [2, 3]]
    >>> find_groups(["p", "q", "q"])
    Traceback (most recent call last):
    ...
    rmr1_trl.groups.GroupLayoutError: prompt groups in this batch have sizes [1, 2]: ...
    """
    keys = [prompt_key(p) for p in prompts]
    if group_size is not None:
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        if len(keys) % group_size:
            raise GroupLayoutError(
                f"this batch holds {len(keys)} completions, not a multiple of group_size={group_size}, "
                f"so some prompt's completions are on another process; {_FIX}"
            )
        groups = [list(range(s, s + group_size)) for s in range(0, len(keys), group_size)]
        for group in groups:
            if len({keys[i] for i in group}) != 1:
                raise GroupLayoutError(
                    f"completions {group[0]}..{group[-1]} should share one prompt (group_size={group_size}) "
                    f"but do not; the groups are misaligned with this process's slice; {_FIX}"
                )
        return groups
    groups: list[list[int]] = []
    for i, key in enumerate(keys):
        if groups and keys[groups[-1][0]] == key:
            groups[-1].append(i)
        else:
            groups.append([i])
    sizes = [len(g) for g in groups]
    if len(set(sizes)) > 1:
        raise GroupLayoutError(f"prompt groups in this batch have sizes {sizes}: {_FIX}")
    return groups
