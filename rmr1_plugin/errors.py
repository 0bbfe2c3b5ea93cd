"""The judge engine's exceptions: a failed backend under ``on_error="raise"``, and a group that
got no verdict at all.

>>> NoVerdictError.from_failures(["backend error: refused"]).cause
'backend_error'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rmr1_plugin.ranking import GroupScores


class JudgeError(RuntimeError):
    """Raised with ``on_error="raise"`` when the backend fails for a pair."""


NoVerdictCause = Literal["backend_error", "no_verdict"]


class NoVerdictError(JudgeError):
    """No comparison of a group produced a verdict, so the group has no reward (never a tie).

    ``cause`` is ``"backend_error"`` when every comparison failed in the backend (a judge server
    that is down or unreachable: worth waiting for) and ``"no_verdict"`` when the judge answered
    but never named a winner; ``first_error`` is the first comparison's error text and ``scores``
    the :class:`~rmr1_plugin.ranking.GroupScores` that would have been returned.
    """

    def __init__(self, cause: NoVerdictCause, first_error: str, comparisons: int, scores: GroupScores | None = None):
        self.cause, self.first_error, self.comparisons, self.scores = cause, first_error, comparisons, scores
        what = ("the judge backend failed for every comparison" if cause == "backend_error"
                else "the judge answered but named no winner in any comparison")
        super().__init__(f"no verdict for a group of completions: {what} ({comparisons} comparison(s)); "
                         f"first error: {first_error}")

    @classmethod
    def from_failures(cls, failures: Sequence[str], scores: GroupScores | None = None) -> NoVerdictError:
        """The error for comparisons that all failed, given each one's error text.

        The cause is ``"backend_error"`` (worth waiting for) only when every one failed in the backend.

        >>> NoVerdictError.from_failures(["backend error: refused", "no_verdict"]).cause
        'no_verdict'
        """
        backend_down = all("backend error" in f for f in failures)
        return cls("backend_error" if backend_down else "no_verdict", failures[0], len(failures), scores)
