"""Finding a prompt's completions in a batch, and refusing batches that split a group."""

from __future__ import annotations

import pytest
from rmr1_trl.groups import GroupLayoutError, find_groups

CHAT_P = [{"role": "user", "content": "p"}]
CHAT_Q = [{"role": "user", "content": "q"}]


def test_groups_of_a_known_size_are_consecutive_chunks():
    assert find_groups(["p", "p", "p", "p"], group_size=2) == [[0, 1], [2, 3]]  # same prompt twice in a row


def test_without_a_size_runs_of_equal_prompts_are_groups():
    assert find_groups([CHAT_P, CHAT_P, CHAT_Q, CHAT_Q]) == [[0, 1], [2, 3]]


@pytest.mark.parametrize("prompts, size, message", [
    (["p", "p", "q"], 2, "not a multiple of group_size=2"),
    (["p", "q", "q", "r"], 2, "should share one prompt"),
    (["p", "q", "q"], None, r"sizes \[1, 2\]"),
])
def test_a_group_straddling_processes_is_an_error_that_says_how_to_fix_it(prompts, size, message):
    with pytest.raises(GroupLayoutError, match=message) as error:
        find_groups(prompts, group_size=size)
    assert "multiple of num_generations" in str(error.value)
