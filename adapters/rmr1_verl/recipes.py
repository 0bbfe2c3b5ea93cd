"""Compose a verl recipe YAML the way ``verl.trainer.main_ppo`` does, and check it against the
installed verl before a GPU job finds the mistake.

Hydra accepts any key a recipe adds, and verl reads many sections with ``.get``: a misspelt or
outdated key (``custom_reward_function.path`` at the top level, say) is silently ignored. So a
recipe's keys are compared with verl's own packaged config of the same trainer.

>>> cfg = compose_recipe("recipes/verl", "rlvr_deepseek-r1-distill-qwen-7b")      # doctest: +SKIP
>>> unknown_keys(cfg, verl_default_config("ppo_trainer"))                          # doctest: +SKIP
[]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

#: Keys verl reads with ``.get`` although its packaged YAML does not declare them, and the
#: installed source file that reads each (tests check the file still does).
EXTENSION_KEYS: dict[str, str] = {
    # get_custom_reward_fn: reward_fn_config.get("reward_kwargs", {}) -> keyword arguments of compute_score
    "reward.custom_reward_function.reward_kwargs": "trainer/ppo/reward.py",
    # reward managers read config.reward.get("reward_kwargs", {}) (DAPO's overlong buffer; ours)
    "reward.reward_kwargs": "experimental/reward_loop/reward_manager/dapo.py",
}


#: Sections verl 0.9 keeps only so that old command lines still parse (``legacy_reward_impl.yaml``):
#: ``verl.trainer.main_ppo`` never reads them, so a value set there is silently ignored.
LEGACY_SECTIONS = ("custom_reward_function", "reward_model", "sandbox_fusion")


def ignored_legacy_keys(cfg: DictConfig) -> list[str]:
    """Keys under verl's legacy sections that carry a value (which ``main_ppo`` would ignore).

    >>> from omegaconf import OmegaConf
    >>> ignored_legacy_keys(OmegaConf.create({"custom_reward_function": {"path": "r.py", "name": None}}))
    ['custom_reward_function.path']
    """
    out = []
    for section in LEGACY_SECTIONS:
        if section in cfg and isinstance(cfg[section], DictConfig):
            out += [k for k in leaf_keys(cfg[section], section + ".") if OmegaConf.select(cfg, k) is not None]
    return sorted(out)


def compose_recipe(config_dir: str | Path, name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``python -m verl.trainer.main_ppo --config-path DIR --config-name NAME`` runs with.

    Interpolations (``${oc.env:...}``) are left unresolved, as Hydra hands them to verl.
    """
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base=None):
        return compose(config_name=name, overrides=list(overrides))


def verl_default_config(name: str = "ppo_trainer", overrides: Sequence[str] = ()) -> DictConfig:
    """verl's packaged config ``name`` (``ppo_trainer``, ``sft_trainer_engine``, ...)."""
    import verl.trainer.config

    return compose_recipe(Path(verl.trainer.config.__file__).parent, name, overrides)


def leaf_keys(cfg: DictConfig, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every leaf (lists count as leaves), without resolving interpolations."""
    for key in cfg.keys():
        path = f"{prefix}{key}"
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_none() and not node._is_interpolation():
            children = list(leaf_keys(node, path + "."))
            yield from children if children else [path]
        else:
            yield path


def unknown_keys(cfg: DictConfig, base: DictConfig, allowed: Sequence[str] = tuple(EXTENSION_KEYS)) -> list[str]:
    """Keys of ``cfg`` that ``base`` lacks, except those under an ``allowed`` prefix.

    >>> from omegaconf import OmegaConf
    >>> unknown_keys(OmegaConf.create({"a": {"b": 1, "typo": 2}}), OmegaConf.create({"a": {"b": 0}}), allowed=())
    ['a.typo']
    >>> unknown_keys(OmegaConf.create({"mtp": {"enable": True}}), OmegaConf.create({"mtp": None}), allowed=())
    []
    """
    known = set(leaf_keys(base))
    known_prefixes = {k.rsplit(".", i)[0] for k in known for i in range(k.count(".") + 1)}
    # Sections verl leaves null (``mtp: null``) may be filled in with a mapping.
    nullable = {k for k in known if OmegaConf.select(base, k, throw_on_resolution_failure=False) is None}
    out = []
    for key in leaf_keys(cfg):
        if key in known or any(key == a or key.startswith(a + ".") for a in allowed):
            continue
        if key in known_prefixes:  # an empty mapping where verl has a section
            continue
        parents = {key.rsplit(".", i)[0] for i in range(1, key.count(".") + 1)}
        if parents & nullable:
            continue
        out.append(key)
    return sorted(out)


def check_recipe(config_dir: str | Path, name: str, overrides: Sequence[str] = ()) -> list[str]:
    """Everything wrong with a recipe (plus command-line overrides) for the installed verl; empty if nothing.

    Checks: keys verl does not know, values that are missing or do not resolve, keys ``main_ppo``
    ignores, and (for PPO recipes) verl's own ``validate_config``.
    """
    cfg = compose_recipe(config_dir, name, overrides)
    trainer = "ppo_trainer" if "actor_rollout_ref" in cfg else "sft_trainer_engine"
    problems = [f"unknown to verl {_verl_version()}: {key}" for key in unknown_keys(cfg, verl_default_config(trainer))]
    problems += [f"ignored by verl.trainer.main_ppo (legacy key): {key}" for key in ignored_legacy_keys(cfg)]
    try:
        problems += [f"missing value: {key}" for key in sorted(OmegaConf.missing_keys(cfg))]
        OmegaConf.resolve(cfg)
    except Exception as exc:  # an unset ${oc.env:...} and the like
        return problems + [f"does not resolve: {exc}".splitlines()[0]]
    problems += missing_paths(cfg)
    if trainer == "ppo_trainer" and (cfg.reward.get("reward_manager") or {}).get("name") == "rmr1_judge":
        from rmr1_verl.manager import settings_from_config

        try:
            settings_from_config(cfg)
        except ValueError as exc:
            problems.append(str(exc))
    if trainer == "ppo_trainer" and not problems:
        from verl.trainer.ppo.utils import need_critic, need_reference_policy
        from verl.utils.config import validate_config

        try:
            validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
        except (AssertionError, ValueError) as exc:
            problems.append(f"verl's validate_config: {exc}")
    return problems


def missing_paths(cfg: DictConfig) -> list[str]:
    """Data files and model folders the config names that do not exist (hub ids ``owner/name`` pass).

    >>> from omegaconf import OmegaConf
    >>> missing_paths(OmegaConf.create({"data": {"train_files": "/nowhere/train.parquet"}}))[0][:56]
    'data.train_files: /nowhere/train.parquet does not exist '
    """
    problems = []
    for key in ("data.train_files", "data.val_files"):
        value = OmegaConf.select(cfg, key, default=None)
        for file in [value] if isinstance(value, str) else list(value or []):
            if not Path(str(file)).exists() and not str(file).startswith(("hdfs://", "s3://", "gs://")):
                problems.append(f"{key}: {file} does not exist (run `rmr1 prepare ... --out <folder>` and set "
                                "RMR1_DATA_DIR)")
    for key in ("actor_rollout_ref.model.path", "model.path", "reward.reward_model.model_path"):
        value = OmegaConf.select(cfg, key, default=None)
        if key.startswith("reward.") and not OmegaConf.select(cfg, "reward.reward_model.enable", default=False):
            continue
        if isinstance(value, str) and _looks_local(value) and not Path(value).exists():
            problems.append(f"{key}: {value} does not exist (a local model folder; hub ids look like owner/name)")
    return problems


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or path.count("/") != 1


def _verl_version() -> str:
    import verl

    return verl.__version__


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rmr1_verl.recipes DIR NAME [key=value ...]``: check a recipe before a GPU job."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m rmr1_verl.recipes",
        description="Compose a verl recipe with Hydra as verl.trainer.main_ppo would and report keys the "
                    "installed verl does not know or ignores, missing values and verl's own validation errors.")
    parser.add_argument("config_dir", help="folder of the recipe YAMLs, e.g. recipes/verl")
    parser.add_argument("name", help="recipe name without .yaml, e.g. rlvr_qwen2.5-7b-instruct")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as on the main_ppo command line")
    args = parser.parse_args(argv)
    problems = check_recipe(args.config_dir, args.name, args.overrides)
    for problem in problems:
        print(f"{args.name}: {problem}")
    if not problems:
        print(f"{args.name}: OK for verl {_verl_version()}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
