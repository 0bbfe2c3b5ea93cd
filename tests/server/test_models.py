"""Request bodies: shapes, limits and OpenRLHF's loosely typed labels."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rmr1_plugin.server.models import (
    GroupIn,
    LimitError,
    PairIn,
    RewardRequest,
    check_limits,
    format_loc,
)


def test_a_pair_is_one_shape_or_the_other():
    assert PairIn(question="q", answer_a="a", answer_b="b").texts()[0] == ("question", "q")
    with pytest.raises(ValidationError, match="not both"):
        PairIn(question="q", answer_a="a", answer_b="b", conversation_a=[], conversation_b=[])
    with pytest.raises(ValidationError, match="missing conversation_b"):
        PairIn(conversation_a=[{"role": "user", "content": "hi"}])


def test_limits_name_the_offending_field():
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x" * 50}]
    pair = PairIn(conversation_a=conversation, conversation_b=conversation[:1])
    with pytest.raises(LimitError) as info:
        check_limits([pair], "pairs", max_items=4, max_chars=10)
    assert (
        str(info.value) == "pairs[0].conversation_a[1].content: 50 characters, over the limit of 10"
    )
    group = GroupIn(prompt="q", completions=["a", "b", "c"])
    with pytest.raises(LimitError, match=r"groups\[0\].completions: 3 completions"):
        check_limits([group], "groups", max_items=4, max_chars=10, max_group=2)
    with pytest.raises(LimitError, match="5 items"):
        check_limits([group] * 5, "groups", max_items=4, max_chars=10)


def test_openrlhf_labels_of_any_json_type_are_read_as_text():
    request = RewardRequest(
        query=["a", "b", "c", "d"], labels=[42, None, {"x": 1}, "y"], extra_field=1
    )
    assert request.labels == ["42", None, '{"x": 1}', "y"]
    with pytest.raises(ValidationError, match="labels has 1 items but query has 2"):
        RewardRequest(query=["a", "b"], labels=["x"])


def test_locations_read_like_python():
    assert (
        format_loc(["body", "groups", 2, "prompt", 0, "content"]) == "groups[2].prompt[0].content"
    )
    assert format_loc(["body"]) == "body"
