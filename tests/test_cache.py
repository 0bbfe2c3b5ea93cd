"""The generation cache: content-addressed, memory LRU, optional SQLite store."""

from __future__ import annotations

import pytest

from rmr1_plugin.backends import Generation, GenerationSettings
from rmr1_plugin.cache import GenerationCache, generation_key

MESSAGES = [{"role": "system", "content": "judge"}, {"role": "user", "content": "A or B?"}]


def test_the_key_covers_model_settings_and_every_message():
    base = generation_key("m", GenerationSettings(), MESSAGES)
    assert base == generation_key("m", GenerationSettings(), [dict(m) for m in MESSAGES])
    assert base != generation_key("m2", GenerationSettings(), MESSAGES)
    assert base != generation_key("m", GenerationSettings(max_new_tokens=10), MESSAGES)
    assert base != generation_key("m", GenerationSettings(), MESSAGES[:1] + [{"role": "user", "content": "B or A?"}])


def test_errors_are_not_cached():
    cache = GenerationCache()
    cache.put("k", Generation.failed("server down"))
    assert cache.get("k") is None and len(cache) == 0


def test_memory_is_bounded_lru():
    cache = GenerationCache(max_entries=2)
    for key in "abc":
        cache.put(key, Generation(text=key))
    assert cache.get("a") is None and cache.get("c").text == "c"


def test_the_disk_store_survives_reopening(tmp_path):
    path = tmp_path / "sub" / "cache.sqlite"
    with GenerationCache(path) as cache:
        cache.put("k", Generation(text="<answer>[[B]]</answer>", finish_reason="length"))
    with GenerationCache(path, max_entries=1) as reopened:
        assert reopened.get("k") == Generation(text="<answer>[[B]]</answer>", finish_reason="length")
        assert len(reopened) == 1 and reopened.hits == 1


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_text("this is not sqlite" * 100)
    with pytest.raises(ValueError, match="cache.sqlite is not a usable SQLite database"):
        GenerationCache(path)
