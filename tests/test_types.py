"""The shared vocabulary is defined once, and every layer that names it uses that one definition."""

from typing import get_args

import rmr1_trl.config
import rmr1_verl.manager

from rmr1_plugin import judge, prompts, ranking, types, verdict
from rmr1_plugin.server import models


def test_strategy_names_are_the_literal_s_values():
    assert types.STRATEGIES == get_args(types.Strategy)
    assert ranking.STRATEGIES is types.STRATEGIES
    assert types.STYLES == get_args(types.Style) == prompts.STYLES


def test_every_layer_uses_the_one_definition():
    assert verdict.Winner is judge.Winner is types.Winner
    assert judge.SwapPolicy is types.SwapPolicy and judge.Style is prompts.Style is types.Style
    assert models.Winner is types.Winner
    for fields in (rmr1_trl.config.JudgeSpec.model_fields, rmr1_verl.manager.JudgeRewardSettings.model_fields):
        assert fields["strategy"].annotation is types.Strategy
        # style is optional: unset means "follow the checkpoint's name" (rmr1_plugin.settings.resolve_style)
        assert fields["style"].annotation == types.Style | None
        assert fields["swap"].annotation is types.SwapPolicy


def test_one_backend_unavailable_exception_with_the_old_server_name_deprecated():
    import pytest

    from rmr1_plugin.backends import BackendUnavailableError
    from rmr1_plugin.server import service

    with pytest.warns(DeprecationWarning, match="BackendUnavailableError"):
        assert service.BackendUnavailable is BackendUnavailableError
    assert issubclass(service.NoVerdict, BackendUnavailableError)


def test_judge_modules_re_export_what_moved_out_of_judge_py():
    from rmr1_plugin import combine, errors, groups, pairs

    assert judge.JudgePair is pairs.JudgePair and judge.PairVerdict is combine.PairVerdict
    assert judge.NoVerdictError is errors.NoVerdictError and judge.JudgeError is errors.JudgeError
    assert judge.ascore_until_judged is groups.ascore_until_judged and judge.group_flip_rate is groups.group_flip_rate
    from rmr1_plugin.verify.route import BatchVerifier, Verifier

    assert judge.BatchVerifier is BatchVerifier and judge.Verifier is Verifier
