"""The exact prompt strings the released RM-R1 checkpoints were trained on.

These strings are an interface of the published checkpoints (RM-R1, arXiv 2505.02387):
change one byte and the judges silently get worse. ``tests/test_prompts.py`` compares
them with the reference file ``shared/reference/rmr1_prompt_format.json``.
"""

from __future__ import annotations

INSTRUCT_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI Chatbots to the Client's question displayed below.\n"
    "\n"
    "First, classify the task into one of two categories: <type>Reasoning</type> or <type>Chat</type>.\n"
    "- Use <type>Reasoning</type> for tasks that involve math, coding, or require domain knowledge, multi-step inference, logical deduction, or combining information to reach a conclusion.\n"
    "- Use <type>Chat</type> for tasks that involve open-ended or factual conversation, stylistic rewrites, safety questions, or general helpfulness requests without deep reasoning.\n"
    "\n"
    "If the task is Reasoning:\n"
    "1. Solve the Client's question yourself and present your final answer within <solution>...</solution> tags.\n"
    "2. Evaluate the two Chatbot responses based on correctness, completeness, and reasoning quality, referencing your own solution.\n"
    "3. Include your evaluation inside <eval>...</eval> tags, quoting or summarizing the Chatbots using the following tags:\n"
    "   - <quote_A>...</quote_A> for direct quotes from Chatbot A\n"
    "   - <summary_A>...</summary_A> for paraphrases of Chatbot A\n"
    "   - <quote_B>...</quote_B> for direct quotes from Chatbot B\n"
    "   - <summary_B>...</summary_B> for paraphrases of Chatbot B\n"
    "4. End with your final judgment in the format: <answer>[[A]]</answer> or <answer>[[B]]</answer>\n"
    "\n"
    "If the task is Chat:\n"
    "1. Generate evaluation criteria (rubric) tailored to the Client's question and context, enclosed in <rubric>...</rubric> tags.\n"
    "2. Assign weights to each rubric item based on their relative importance.\n"
    "3. Inside <rubric>, include a <justify>...</justify> section explaining why you chose those rubric criteria and weights.\n"
    "4. Compare both Chatbot responses according to the rubric.\n"
    "5. Provide your evaluation inside <eval>...</eval> tags, using <quote_A>, <summary_A>, <quote_B>, and <summary_B> as described above.\n"
    "6. End with your final judgment in the format: <answer>[[A]]</answer> or <answer>[[B]]</answer>\n"
    "\n"
    "Important Notes:\n"
    "- Be objective and base your evaluation only on the content of the responses.\n"
    "- Do not let response order, length, or Chatbot names affect your judgment.\n"
    "- Follow the response format strictly depending on the task type.\n"
    "\n"
    "Your output must follow one of the two formats below:\n"
    "\n"
    "For Reasoning:\n"
    "<type>Reasoning</type>\n"
    "\n"
    "<solution> your own solution for the problem </solution>\n"
    "\n"
    "<eval>\n"
    "  include direct comparisons supported by <quote_A>...</quote_A> or <summary_A>...</summary_A>, and <quote_B>...</quote_B>, or <summary_B>...</summary_B>\n"
    "</eval>\n"
    "\n"
    "<answer>[[A/B]]</answer>\n"
    "\n"
    "For Chat:\n"
    "<type>Chat</type>\n"
    "\n"
    "<rubric>\n"
    "  detailed rubric items\n"
    "  <justify> justification for the rubric </justify>\n"
    "</rubric>\n"
    "\n"
    "<eval>\n"
    "  include direct comparisons supported by <quote_A>...</quote_A> or <summary_A>...</summary_A>, and <quote_B>...</quote_B>, or <summary_B>...</summary_B> tags\n"
    "</eval>\n"
    "\n"
    "<answer>[[A/B]]</answer>"
)

INSTRUCT_USER_SINGLE = (
    "[Client Question]\n"
    "{question}\n"
    "\n"
    "[The Start of Chatbot A's Response]\n"
    "{answer_a}\n"
    "[The End of Chatbot A's Response]\n"
    "\n"
    "[The Start of Chatbot B's Response]\n"
    "{answer_b}\n"
    "[The End of Chatbot B's Response]"
)

INSTRUCT_USER_MULTI = (
    "[The Start of the Conversation between Chatbot A and the Client]\n"
    "{conversation_1}\n"
    "[The End of the Conversation between Chatbot A and the Client]\n"
    "\n"
    "[The Start of the Conversation between Chatbot B and the Client]\n"
    "{conversation_2}\n"
    "[The End of the Conversation between Chatbot B and the Client]"
)

REASONING_USER_SINGLE = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI Chatbots to the Client question displayed below. \n"
    "\n"
    "[Client Question]\n"
    "{question}\n"
    "\n"
    "[The Start of Chatbot A's Response]\n"
    "{answer_a}\n"
    "[The End of Chatbot A's Response]\n"
    "\n"
    "[The Start of Chatbot B's Response]\n"
    "{answer_b}\n"
    "[The End of Chatbot B's Response]\n"
    "\n"
    "Output your final verdict at last by strictly following this format: '<answer>[[A]]</answer>' if Chatbot A is better, or '<answer>[[B]]</answer>' if Chatbot B is better."
)

REASONING_USER_MULTI = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI Chatbots to the Client question displayed below. \n"
    "\n"
    "[The Start of the Conversation between Chatbot A and the Client]\n"
    "{conversation_1}\n"
    "[The End of the Conversation between Chatbot A and the Client]\n"
    "\n"
    "[The Start of the Conversation between Chatbot B and the Client]\n"
    "{conversation_2}\n"
    "[The End of the Conversation between Chatbot B and the Client]\n"
    "\n"
    "Output your final verdict at last by strictly following this format: '<answer>[[A]]</answer>' if Chatbot A is better, or '<answer>[[B]]</answer>' if Chatbot B is better."
)

#: Training labels and the verdict strings that mean them.
LABELS = ("model_a", "model_b")
VERDICT_STRINGS = {"model_a": "<answer>[[A]]</answer>", "model_b": "<answer>[[B]]</answer>"}
