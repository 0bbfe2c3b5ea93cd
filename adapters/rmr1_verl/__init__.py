"""verl adapter for rmr1-plugin (docs/verl.md).

Modules, each loaded by verl from its config (nothing is imported here, so ``import rmr1_verl``
stays light):

- :mod:`rmr1_verl.rlvr` — ``compute_score`` of RM-R1's RLVR stage (``pkg://rmr1_verl.rlvr``);
- :mod:`rmr1_verl.manager` — the ``rmr1_judge`` reward manager (an RM-R1 judge ranks each
  prompt's completions), registered on ``import verl`` by :mod:`rmr1_verl.plugin`;
- :mod:`rmr1_verl.verifiers` — ``compute_score`` for math and code rows;
- :mod:`rmr1_verl.recipes` — compose and check the YAML recipes under ``recipes/verl``.
"""
