"""Build a tiny chat model and tokenizer locally, with no downloads.

Used by the test suite and by ``rmr1 quickstart``: a byte-level BPE tokenizer trained in-process
(on text that includes the RM-R1 prompt, so its merges compress the long fixed system prompt),
a ChatML chat template, and a few-layer Qwen2 model with random weights.

>>> from rmr1_plugin.tiny import build_tiny_model          # doctest: +SKIP
>>> path = build_tiny_model("/tmp/tiny-judge")              # doctest: +SKIP
>>> from transformers import AutoModelForCausalLM           # doctest: +SKIP
>>> model = AutoModelForCausalLM.from_pretrained(path)      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rmr1_plugin import templates

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# ChatML, as Qwen2.5 uses; ``{% generation %}`` marks assistant text for TRL's assistant-only loss.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


_TAGS = ("type", "solution", "eval", "rubric", "justify", "answer", "think",
         "quote_A", "quote_B", "summary_A", "summary_B")


def default_corpus() -> list[str]:
    """Text the tokenizer learns its merges from: the RM-R1 prompts, verdict tags, digits."""
    tags = " ".join(f"<{t}>...</{t}>" for t in _TAGS)
    base = [
        templates.INSTRUCT_SYSTEM, templates.INSTRUCT_USER_SINGLE, templates.INSTRUCT_USER_MULTI,
        templates.REASONING_USER_SINGLE, templates.REASONING_USER_MULTI, tags,
        "<answer>[[A]]</answer> <answer>[[B]]</answer> <type>Reasoning</type> <type>Chat</type>",
        " ".join(str(i) for i in range(200)), "+ - * / = ( ) The answer is",
    ]
    return base * 20


def template_phrases() -> list[str]:
    """The fixed texts of the RM-R1 instruct prompt and the chain-of-rubrics tags.

    Passed as ``phrases`` to :func:`build_tokenizer`, each becomes one token: the ~2,900-character
    system prompt costs one token instead of ~720, each fixed line of the user template one, so a
    tiny model's sequences are mostly the content it has to judge.

    >>> "[Client Question]\\n" in template_phrases()
    True
    """
    lines = [templates.INSTRUCT_SYSTEM]
    lines += [
        line for line in templates.INSTRUCT_USER_SINGLE.splitlines(keepends=True) if line.strip() and "{" not in line
    ]
    tags = [f"<{t}>" for t in _TAGS] + [f"</{t}>" for t in _TAGS]
    tags += ["<type>Reasoning</type>", "<type>Chat</type>", "<answer>[[A]]</answer>", "<answer>[[B]]</answer>"]
    return list(dict.fromkeys(lines + tags))


def build_tokenizer(
    corpus: Iterable[str] | None = None, vocab_size: int = 2000, *, phrases: Iterable[str] = ()
):
    """A ``PreTrainedTokenizerFast`` (byte-level BPE, ChatML template) trained on ``corpus``.

    Each string in ``phrases`` becomes a single (non-special) token, matched before BPE.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus if corpus is not None else default_corpus()), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        bos_token=None, unk_token=None, additional_special_tokens=["<|im_start|>"],
    )
    phrases = [p for p in phrases if p]
    if phrases:
        from tokenizers import AddedToken

        fast.add_tokens([AddedToken(p, normalized=False, special=False) for p in phrases])
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


#: Qwen2.5-0.5B's layer shape (keyword arguments of :func:`build_tiny_model`): random weights of a
#: realistic size, e.g. to measure a GPU server's batching, with no download.
QWEN2_0_5B_SHAPE = {"hidden_size": 896, "num_layers": 24, "num_heads": 14, "num_kv_heads": 2,
                    "intermediate_size": 4864}


def build_tiny_model(
    path: str | Path,
    *,
    corpus: Iterable[str] | None = None,
    vocab_size: int = 2000,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 4096,
    seed: int = 0,
    phrases: Iterable[str] = (),
    num_kv_heads: int | None = None,
    intermediate_size: int | None = None,
) -> Path:
    """Save a tiny Qwen2 causal LM and its tokenizer under ``path`` and return the path.

    ``phrases`` are strings tokenized as one token each (see :func:`template_phrases`).
    ``num_kv_heads`` (default ``num_heads``) and ``intermediate_size`` (default ``2 * hidden_size``)
    give a real model's shape, e.g. :data:`QWEN2_0_5B_SHAPE`.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    path = Path(path)
    tokenizer = build_tokenizer(corpus, vocab_size, phrases=phrases)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size or hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=num_heads, num_key_value_heads=num_kv_heads or num_heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
