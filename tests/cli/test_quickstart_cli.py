"""`rmr1 quickstart` refuses a device it cannot use, with what to do instead."""

from __future__ import annotations

import pytest

from rmr1_plugin.cli import main

torch = pytest.importorskip("torch")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks what a machine without CUDA is told")
def test_cuda_without_cuda_is_a_clear_error(tmp_path, capsys):
    assert main(["quickstart", "--smoke", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--device cuda, but this torch build or machine has no CUDA" in err and "--device cpu" in err
    assert not any(tmp_path.iterdir())  # refused before any work
