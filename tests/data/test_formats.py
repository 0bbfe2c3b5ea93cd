"""Record shapes -> PreferencePair, and errors that name file, row and field."""

from __future__ import annotations

import json

import pytest

from rmr1_plugin.data import RecordError, detect_format, record_to_pairs

PLAIN = {"id": 7, "prompt": "Q", "chosen": "good", "rejected": "bad"}
SKYWORK = {
    "chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "good"}],
    "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "bad"}],
}
TRL = {"prompt": [{"role": "user", "content": "Q"}], "chosen": [{"role": "assistant", "content": "good"}],
       "rejected": [{"role": "assistant", "content": "bad"}]}
RM_BENCH = {"id": "8", "prompt": "Q", "subset": "alpacaeval", "chosen": ["c0", "c1", "c2"], "rejected": ["r0", "r1", "r2"]}
RMB_PAIR = {"pair_uid": "15", "conversation_input": [{"role": "user", "content": "Q", "language": "English"}],
            "chosen": {"llm_name": "m1", "answer": "good"}, "reject": {"llm_name": "m2", "answer": "bad"},
            "category_path": "Pairwise_set/Harmlessness/S1"}
RMB_BON = {"bon_uid": "3", "conversation_input": [{"role": "user", "content": "Q"}],
           "bon_best": {"llm_name": "m", "answer": "best"},
           "loser_list": [{"llm_name": "x", "answer": "l0"}, {"llm_name": "y", "answer": "l1"}],
           "category_path": "BoN_set/Harmlessness/S1"}


def pairs(record, **kwargs):
    return list(record_to_pairs(record, where="f.jsonl, line 3", row=3, source="src", **kwargs))


@pytest.mark.parametrize(
    ("record", "fmt"),
    [(PLAIN, "plain"), (SKYWORK, "skywork"), (TRL, "trl"), (RM_BENCH, "rm-bench"), (RMB_PAIR, "rmb-pairwise"),
     (RMB_BON, "rmb-bon"), ({"question": "Q", "chosen": "a", "rejected": "b"}, "plain"), ({"text": "x"}, None)],
)
def test_detect_format(record, fmt):
    assert detect_format(record) == fmt


@pytest.mark.parametrize("record", [PLAIN, SKYWORK, TRL])
def test_single_pair_shapes_agree(record):
    (pair,) = pairs(record)
    assert pair.chosen == [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "good"}]
    assert pair.rejected[-1] == {"role": "assistant", "content": "bad"}
    assert pair.question == "Q" and pair.source == "src"


def test_rm_bench_gives_same_style_pairs_by_default_and_all_on_request():
    same = pairs(RM_BENCH)
    assert [(p.chosen[-1]["content"], p.rejected[-1]["content"]) for p in same] == [("c0", "r0"), ("c1", "r1"), ("c2", "r2")]
    assert [p.id for p in same] == ["8:0:0", "8:1:1", "8:2:2"] and same[0].subset == "alpacaeval"
    assert len(pairs(RM_BENCH, all_rm_bench_pairs=True)) == 9


def test_rmb_pairwise_keeps_the_context_and_drops_extra_keys():
    (pair,) = pairs(RMB_PAIR)
    assert pair.chosen == [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "good"}]
    assert pair.id == "15" and pair.subset == "Pairwise_set/Harmlessness/S1"


def test_rmb_bon_gives_one_pair_per_loser():
    result = pairs(RMB_BON)
    assert [p.rejected[-1]["content"] for p in result] == ["l0", "l1"]
    assert all(p.chosen[-1]["content"] == "best" for p in result)
    assert [p.id for p in result] == ["3:0", "3:1"]


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        ({"prompt": "Q", "chosen": "a", "rejected": 5}, None, "unrecognised record shape"),
        ({**TRL, "chosen": [{"role": "assistant", "content": 3}]}, "chosen[0].content", "expected a string"),
        ({**SKYWORK, "rejected": [{"role": "robot", "content": "x"}]}, "rejected[0].role", "got 'robot'"),
        ({**RMB_PAIR, "reject": {"llm_name": "m"}}, "reject", "expected {'llm_name', 'answer': str}"),
        ({**RMB_BON, "loser_list": []}, "loser_list", "non-empty list"),
        ({**RM_BENCH, "rejected": ["r0"]}, "rejected", "has 1 variants but chosen has 3"),
        ({**SKYWORK, "chosen": [{"role": "user", "content": "Q"}]}, "chosen", "must end with an assistant turn"),
    ],
)
def test_malformed_records_name_file_row_and_field(record, field, problem):
    with pytest.raises(RecordError) as info:
        pairs(record)
    assert info.value.field == field
    assert problem in str(info.value)
    assert str(info.value).startswith("f.jsonl, line 3")


def test_forced_format_must_exist():
    with pytest.raises(ValueError, match="unknown format 'csv'"):
        pairs(PLAIN, fmt="csv")


def test_records_round_trip_json():
    """Pairs are plain data: they survive JSON."""
    (pair,) = pairs(RMB_PAIR)
    assert type(pair).model_validate(json.loads(pair.model_dump_json())) == pair
