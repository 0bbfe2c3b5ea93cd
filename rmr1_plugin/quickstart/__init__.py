"""``rmr1 quickstart``: the whole mission in miniature, on CPU, with no downloads.

Train an RM-R1 judge on a synthetic task (SFT distillation, then RLVR with the verdict reward),
then train a policy with that judge as its only reward, and measure both. See
:mod:`rmr1_plugin.quickstart.pipeline` for the stages and :mod:`rmr1_plugin.quickstart.task` for
the task.
"""
