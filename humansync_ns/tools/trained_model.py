"""A trained model for the console scripts that read one (`humansync-render`,
`humansync-export-calibration`): nerfstudio's `eval_setup`, after the checks it makes with bare
asserts or not at all, each raised naming the config file.

The config is read with nerfstudio's full YAML loader (its config.yml holds Python objects), so it
must come from a trusted `ns-train` run, as for `ns-render` and `ns-eval`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class TrainedModelError(ValueError):
    """--load-config does not lead to a trained nerfstudio model."""


def check_trained_config(config_path: Path) -> None:
    """Raises `TrainedModelError` unless `config_path` is a nerfstudio training config of an
    installed method whose checkpoint folder holds a checkpoint."""
    import yaml
    from nerfstudio.engine.trainer import TrainerConfig

    config_path = Path(config_path)
    if not config_path.is_file():
        raise TrainedModelError(f"{config_path}: no such file (--load-config takes the config.yml an ns-train run wrote)")
    try:
        config = yaml.load(config_path.read_text(), Loader=yaml.Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise TrainedModelError(f"{config_path}: not a readable YAML file ({err})") from err
    if not isinstance(config, TrainerConfig):
        raise TrainedModelError(f"{config_path}: not a nerfstudio training config (its top level is a {type(config).__name__})")
    from nerfstudio.configs.method_configs import all_methods  # discovers every installed method: slow, so only now

    if config.method_name not in all_methods:
        raise TrainedModelError(f"{config_path}: method_name '{config.method_name}' is not an installed nerfstudio method")
    checkpoints = config.get_checkpoint_dir()
    if not any(checkpoints.glob("step-*.ckpt")):
        raise TrainedModelError(
            f"{config_path}: no checkpoint (step-*.ckpt) in {checkpoints}; a relative output_dir is read from the "
            "current folder, so run from the folder ns-train ran in"
        )


def load_trained_model(config_path: Path, **eval_setup_options: Any) -> tuple[Any, Any, Path, int]:
    """`nerfstudio.utils.eval_utils.eval_setup(config_path, **options)` after `check_trained_config`:
    (config, pipeline, checkpoint path, step)."""
    from nerfstudio.utils.eval_utils import eval_setup

    check_trained_config(config_path)
    return eval_setup(Path(config_path), **eval_setup_options)
