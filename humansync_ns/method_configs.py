"""nerfstudio registrations: the ``humansync`` / ``humansync-small`` methods and ``humansync-data``.

Both presets come from one builder (``build_method``): ``humansync`` has the paper's defaults
(Sec. 4.1: 300k steps, coarse-to-fine over the first third, L = 4 levels up to 384, poses from
s0 = 2k, offsets from s0 + s1 = 20k; the time axis has a cell per frame, where the paper fixed 240) for a GPU; ``humansync-small`` overrides sizes
and steps so a small capture trains to a recognisable reconstruction in minutes on 2 CPU cores.

This module is loaded by nerfstudio's plugin registry for *every* ``ns-train`` call, so it imports
config classes only (no tinycudann, no LPIPS) and must not fail. It is also loaded *during* the
import of nerfstudio's ``base_datamanager`` (dataparser discovery runs inside it), when
``VanillaDataManagerConfig`` does not exist yet: so ``humansync_dataparser`` is built eagerly from
dataparser imports only, and the two method specifications are built on first attribute access
(PEP 562 ``__getattr__``), by which time nerfstudio has finished importing.

Its one side effect: when no ``ffmpeg`` is on ``PATH``, the environment's own (this package's
console script, imageio-ffmpeg's binary) is made findable for ``ns-render``
(``humansync_ns.render.ffmpeg``, which says why and how).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

from nerfstudio.plugins.registry_dataparser import DataParserSpecification

from humansync_ns.dataparser.humansync_dataparser import HumanSyncDataParserConfig
from humansync_ns.render.ffmpeg import find_environment_ffmpeg

if TYPE_CHECKING:
    from nerfstudio.engine.trainer import TrainerConfig
    from nerfstudio.plugins.types import MethodSpecification

    from humansync_ns.dataparser.humansync_datamanager import HumanSyncDataManagerConfig
    from humansync_ns.model.humansync_model import HumanSyncModelConfig
    from humansync_ns.pipeline.humansync_pipeline import HumanSyncPipelineConfig

humansync_dataparser = DataParserSpecification(config=HumanSyncDataParserConfig())
find_environment_ffmpeg()


def _datamanager(num_rays: int) -> "HumanSyncDataManagerConfig":
    from humansync_ns.dataparser.humansync_datamanager import HumanSyncDataManagerConfig

    return HumanSyncDataManagerConfig(
        dataparser=HumanSyncDataParserConfig(), train_num_rays_per_batch=num_rays, eval_num_rays_per_batch=num_rays
    )


def _pipeline(datamanager: "HumanSyncDataManagerConfig", model: "HumanSyncModelConfig") -> "HumanSyncPipelineConfig":
    from humansync_ns.pipeline.humansync_pipeline import HumanSyncPipelineConfig

    return HumanSyncPipelineConfig(datamanager=datamanager, model=model)


def _adam(lr: float, lr_final: float, max_steps: int) -> Dict[str, Any]:
    """Adam with exponential decay from step 0 (the groups that learn from the start)."""
    from nerfstudio.engine.optimizers import AdamOptimizerConfig
    from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig

    return {
        "optimizer": AdamOptimizerConfig(lr=lr, eps=1e-15),
        "scheduler": ExponentialDecaySchedulerConfig(lr_final=lr_final, max_steps=max_steps),
    }


def _calibration_adam(lr: float, start_step: int, warmup_steps: int, max_steps: int) -> Dict[str, Any]:
    """Adam for a calibration group: rate 0 until it unfreezes at ``start_step`` (the model re-aligns
    it to its schedule when training starts), a linear ramp over ``warmup_steps``
    (model/unfreeze_scheduler.py says why), then decay to 1 % at ``max_steps``."""
    from nerfstudio.engine.optimizers import AdamOptimizerConfig

    from humansync_ns.model.unfreeze_scheduler import UnfreezeWarmupSchedulerConfig

    return {
        "optimizer": AdamOptimizerConfig(lr=lr, eps=1e-15),
        "scheduler": UnfreezeWarmupSchedulerConfig(
            start_step=start_step, warmup_steps=warmup_steps, lr_final=lr * 1e-2, max_steps=max_steps
        ),
    }


def build_method(
    method_name: str,
    description: str,
    *,
    max_num_iterations: int = 300_000,
    pose_start_step: int = 2_000,
    time_offset_delay: int = 18_000,
    coarse_to_fine_fraction: float = 1.0 / 3.0,
    num_rays_per_batch: int = 4096,
    grid_lr: float = 1e-2,
    camera_lr: float = 1e-3,
    time_offset_lr: float = 1e-2,
    calibration_warmup_steps: int = 2_000,
    mixed_precision: bool = True,
    steps_per_eval_image: int = 500,
    steps_per_save: int = 2000,
    **model_overrides: Any,
) -> "MethodSpecification":
    """One humansync preset; everything not given keeps the paper's defaults."""
    from nerfstudio.configs.base_config import ViewerConfig
    from nerfstudio.engine.trainer import TrainerConfig
    from nerfstudio.plugins.types import MethodSpecification

    from humansync_ns.model.humansync_model import HumanSyncModelConfig

    model_values: Dict[str, Any] = {
        "eval_num_rays_per_chunk": 1 << 14,
        "pose_start_step": pose_start_step,
        "time_offset_delay": time_offset_delay,
        "coarse_to_fine_end_step": int(round(coarse_to_fine_fraction * max_num_iterations)),
    }
    model = HumanSyncModelConfig(**{**model_values, **model_overrides})
    config = TrainerConfig(
        method_name=method_name,
        steps_per_eval_batch=500,
        steps_per_eval_image=steps_per_eval_image,
        steps_per_save=steps_per_save,
        max_num_iterations=max_num_iterations,
        mixed_precision=mixed_precision,
        pipeline=_pipeline(_datamanager(num_rays_per_batch), model),
        optimizers={
            "proposal_networks": _adam(grid_lr, grid_lr * 1e-2, max_num_iterations),
            "fields": _adam(grid_lr, grid_lr * 1e-2, max_num_iterations),
            "camera_opt": _calibration_adam(camera_lr, pose_start_step, calibration_warmup_steps, max_num_iterations),
            # Offsets are parameterised in frames (model/time_offsets.py): 1e-2 frames per Adam step.
            "time_offsets": _calibration_adam(
                time_offset_lr, pose_start_step + time_offset_delay, calibration_warmup_steps, max_num_iterations
            ),
        },
        viewer=ViewerConfig(num_rays_per_chunk=1 << 14),
        vis="viewer",
    )
    return MethodSpecification(config=config, description=description)


PEOPLE_FOCUS: Dict[str, Any] = {
    "pipeline.datamanager.importance_sampling": True,
    "pipeline.datamanager.importance_weights": "frame",
    "pipeline.datamanager.importance_floor": 0.1,
    "pipeline.datamanager.dataparser.scene_box_from": "people",
    "pipeline.model.dynamic_region": "scene_box",
}
"""Options beyond the paper's field that spend a short (CPU-sized) run on the people, as dotted
paths of a trainer config (``set_dotted``): rays drawn where each frame differs from its video's
background (static pixels keep a tenth of the weight, so the background is still learned), the
scene box fitted to the people's calibrated joints (the grids' cells go to them),
and the scene static outside that box. The demo trains with them; benchmarks/bench_field_levers.py
measures each. On the command line: ``ns-train humansync-small --pipeline.datamanager.importance-sampling
True --pipeline.datamanager.importance-weights frame --pipeline.datamanager.importance-floor 0.1
--pipeline.model.dynamic-region scene_box
--data DATA humansync-data --scene-box-from people``."""


def set_dotted(config: Any, dotted: str, value: Any) -> None:
    """``set_dotted(config, "pipeline.model.pose_start_step", 0)``: set one field of a nested
    config by its dotted path; dict keys work too (``"optimizers.camera_opt.scheduler.warmup_steps"``).
    Raises AttributeError for a field the config does not have (a typo must not pass silently)."""
    *parents, last = dotted.split(".")
    obj = config
    for name in parents:
        obj = obj[name] if isinstance(obj, dict) else getattr(obj, name)
    if isinstance(obj, dict):
        obj[last] = value
    else:
        if not hasattr(obj, last):
            raise AttributeError(f"{type(obj).__name__} has no field {last!r} (in {dotted!r})")
        setattr(obj, last, value)


def fit_schedule(config: "TrainerConfig", steps: int) -> None:
    """Fit a humansync preset's schedule, in place, to a run of ``steps`` steps.

    ``--max-num-iterations`` alone ends the run early: the learning rates would still decay over the
    preset's length and the progressive schedule would be cut short. Here the run length, every
    group's decay, the calibration groups' warm-up and the model's s0, s1 and coarse-to-fine end all
    keep their fraction of the run (rounded to whole steps). The proposal sampler's warm-up and
    annealing keep their step counts: they only sharpen sampling early on.
    """
    if steps < 1:
        raise ValueError(f"fit_schedule: steps must be positive, got {steps}")
    scale = steps / config.max_num_iterations
    model = config.pipeline.model
    model.pose_start_step = int(round(model.pose_start_step * scale))
    model.time_offset_delay = int(round(model.time_offset_delay * scale))
    model.coarse_to_fine_end_step = int(round(model.coarse_to_fine_end_step * scale))
    for group in config.optimizers.values():
        scheduler = group["scheduler"]
        if hasattr(scheduler, "warmup_steps"):
            scheduler.warmup_steps = int(round(scheduler.warmup_steps * scale))
        scheduler.max_steps = steps
    config.max_num_iterations = steps


def _humansync() -> "MethodSpecification":
    return build_method(
        "humansync",
        "Dynamic K-Planes refined jointly with per-video time offsets and poses (paper defaults, GPU).",
    )


def _humansync_small() -> "MethodSpecification":
    from humansync_ns.model.humansync_model import DEFAULT_LOSS_COEFFICIENTS

    return build_method(
        "humansync-small",
        "humansync sized for CPUs: small grids and MLPs, one proposal field, a few thousand steps.",
        max_num_iterations=2000,
        pose_start_step=200,
        time_offset_delay=400,
        calibration_warmup_steps=200,
        num_rays_per_batch=1024,
        mixed_precision=False,
        steps_per_eval_image=500,
        steps_per_save=1000,
        grid_base_resolution=(32, 32, 32),
        # One time cell per three frames (96 cells on the demo's clip before this was derived from
        # the capture). Cells much finer than a frame are each fitted to whichever frames land in
        # them, and the offsets' gradient becomes noise (benchmarks/results/refinement_signal.json).
        frames_per_time_cell=3.0,
        multiscale_res=(1, 2, 4),
        grid_feature_dim=16,
        hidden_dim=32,
        hidden_dim_color=32,
        num_layers_color=2,
        appearance_embedding_dim=8,
        num_proposal_iterations=1,
        num_proposal_samples_per_ray=(64,),
        num_nerf_samples_per_ray=24,
        proposal_net_args_list=[{"num_components": 8, "resolution": (64, 64, 64), "hidden_dim": 16}],
        proposal_time_resolution=16,
        proposal_warmup=1000,
        implementation="torch",
        eval_num_rays_per_chunk=1 << 12,
        # The calibration stage's offsets are within a few hundredths of a frame on synthetic captures
        # (results/calibration.json), finer than a field of this size can time the people; without a
        # prior, Adam's steps of about one learning rate each follow the field's own fitting error and
        # walk good offsets away (the demo's offsets went from 0.023 to 0.25 frame). The L1 pull toward
        # the calibration's offsets holds each one whose photometric gradient is weaker than
        # time_offset_l1 / number of videos (tests/model/test_time_offsets.py). bench_refinement.py
        # trains with the offsets free, to measure their drift and pull without it.
        loss_coefficients={**DEFAULT_LOSS_COEFFICIENTS, "time_offset_l1": 1e-4},
    )


_LAZY_METHODS = {"humansync_method": _humansync, "humansync_small_method": _humansync_small}
_built: Dict[str, "MethodSpecification"] = {}


def __getattr__(name: str) -> Any:
    """Build ``humansync_method`` / ``humansync_small_method`` on first access (see module doc).

    Each access after the first returns the same object; callers that change a preset should
    ``copy.deepcopy`` its config first."""
    if name not in _LAZY_METHODS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _built:
        _built[name] = _LAZY_METHODS[name]()
    return _built[name]
