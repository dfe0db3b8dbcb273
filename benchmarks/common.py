"""Helpers shared by the benchmark scripts: machine description, result files, peak memory, and the
small synthetic data folders (capture → `process_capture`) that the training benchmarks train on.

Every results file written with `write_results` carries a `machine` entry (CPU model, cores, load
average, Python / numpy / torch versions, the device used) and the script's `settings`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Optional

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (platform.processor() is often empty on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: Optional[str]) -> str:
    """'cpu' or the CUDA device's name, e.g. 'cuda:0 (NVIDIA H100 80GB HBM3)'."""
    if device is None or not str(device).startswith("cuda"):
        return "cpu"
    import torch

    index = torch.device(device).index or 0
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def machine_info(device: Optional[str] = None) -> dict[str, Any]:
    """What the numbers were measured on. torch is described only when already imported, so the
    numpy-only benchmarks (calibration) do not pay for importing it."""
    import numpy as np

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average_at_start": list(os.getloadavg()),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda_available"] = bool(torch.cuda.is_available())
    info["device"] = device_name(device)
    return info


def resolve_device(requested: str = "auto") -> str:
    """'auto' → 'cuda' when a GPU is visible, else 'cpu'."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def write_results(path: Path, results: dict[str, Any]) -> Path:
    """Writes `results` as indented JSON (adds `machine["load_average_at_end"]` when there is a
    machine entry) and returns the path."""
    path = Path(path)
    if isinstance(results.get("machine"), dict):
        results["machine"]["load_average_at_end"] = list(os.getloadavg())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=_json_default))
    return path


def as_written(value: Any) -> Any:
    """`value` as a results file holds it once read back (tuples as lists, paths as strings), so a
    fresh result compares equal to one loaded from disk."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux `ru_maxrss` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident memory of this process now, MiB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def synthetic_data_folder(
    root: Path,
    synth_changes: dict[str, Any],
    calibration: str = "improved",
    max_frames: Optional[int] = None,
    num_downscales: int = 0,
) -> dict[str, Any]:
    """A synthetic capture processed into a nerfstudio data folder, cached under `root`.

    Args:
        root: cache folder; `root/capture` (the `generate_capture` output) and `root/data_<calibration>`.
        synth_changes: `SynthConfig` fields (e.g. num_cameras, width, height, duration_s).
        calibration: how the data folder's poses and offsets are obtained:
            "improved" / "paper": `calibrate` with `CalibrationConfig()` / `CalibrationConfig.paper()`
            from the motion files (the method's initialisation);
            "ground_truth": the capture's true poses and offsets (oracle);
            "ground_truth_zero_offsets": true poses, every offset 0 (Sync-NeRF-like start);
            "paper_like": the truth displaced by `PAPER_LIKE_DISPLACEMENT` (the paper's init errors).
        max_frames: at most this many frames per video.
        num_downscales: halved copies of the frames (images_2, ...); a cached folder with at least
            as many is reused.

    Returns:
        {"data_dir", "capture_dir", "ground_truth", "generate_s", "process_s", "report"}.
    """
    from humansync_ns.synthetic.capture import generate_capture
    from humansync_ns.synthetic.config import SynthConfig

    root = Path(root)
    config = SynthConfig(render_videos=True, **synth_changes)
    stamp = {"config": config.to_dict(), "version": 1}
    capture_dir = root / "capture"
    stamp_path = root / "capture_stamp.json"
    generate_s = 0.0
    if not (stamp_path.is_file() and json.loads(stamp_path.read_text()) == json.loads(json.dumps(stamp))):
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        generate_capture(config, capture_dir)
        generate_s = time.perf_counter() - start
        stamp_path.write_text(json.dumps(stamp))
    ground_truth = capture_dir / "ground_truth" / "ground_truth.json"
    data_dir = root / f"data_{calibration}"
    data_stamp_path = root / f"data_{calibration}_stamp.json"
    data_stamp = {"max_frames": max_frames, "num_downscales": num_downscales, "version": 2}  # 2: people_points
    cached = json.loads(data_stamp_path.read_text()) if data_stamp_path.is_file() else {}
    reusable = ((data_dir / "transforms.json").is_file() and cached.get("version") == 2
                and cached.get("max_frames") == max_frames and cached.get("num_downscales", -1) >= num_downscales)
    process_s = 0.0
    report: dict[str, Any] = {}
    if not reusable:
        report, process_s = _process(capture_dir, data_dir, ground_truth, calibration, max_frames, num_downscales)
        data_stamp_path.write_text(json.dumps(data_stamp))
    return {
        "data_dir": data_dir,
        "capture_dir": capture_dir,
        "ground_truth": ground_truth,
        "synth_config": config.to_dict(),
        "generate_s": generate_s,
        "process_s": process_s,
        "report": report,
    }


PAPER_LIKE_DISPLACEMENT = {"rotation_deg": 5.0, "translation_frac": 0.08, "time_frames": 1.3, "seed": 0}
"""The "paper_like" start of `synthetic_data_folder`: the true calibration with every video turned,
moved and pushed by about the paper's Table 1 init errors (5.46°, 25 cm on a ~3 m dome, 1.34 frames)
in random directions (`calibration.displace.random_displacement`)."""


def _process(capture_dir: Path, data_dir: Path, ground_truth: Path, calibration: str, max_frames: Optional[int], num_downscales: int):
    from humansync_ns.calibration.calibrate import CalibrationConfig
    from humansync_ns.processing.process import process_capture

    shutil.rmtree(data_dir, ignore_errors=True)
    # the motion files also give `people_points` (the dataparser's scene_box_from="people"), whatever the calibration
    kwargs: dict[str, Any] = {"motion_dir": capture_dir / "motion"}
    if calibration in ("improved", "paper"):
        kwargs["calibration_config"] = CalibrationConfig() if calibration == "improved" else CalibrationConfig.paper()
    elif calibration in ("ground_truth", "ground_truth_zero_offsets"):
        path = ground_truth
        if calibration == "ground_truth_zero_offsets":
            truth = json.loads(ground_truth.read_text())
            for video in truth["videos"]:
                video["time_offset_s"] = 0.0
            path = data_dir.parent / f"{data_dir.name}_calibration.json"
            path.write_text(json.dumps(truth))
        kwargs["calibration_path"] = path
    elif calibration == "paper_like":
        from humansync_ns.calibration.calibration_io import load_calibration, save_calibration
        from humansync_ns.calibration.displace import random_displacement

        start = random_displacement(load_calibration(ground_truth), **PAPER_LIKE_DISPLACEMENT)
        kwargs["calibration_path"] = save_calibration(start, data_dir.parent / f"{data_dir.name}_calibration.json")
    else:
        raise ValueError(f"unknown calibration source {calibration!r}")
    start = time.perf_counter()
    report = process_capture(
        capture_dir / "videos", data_dir, ground_truth_path=ground_truth, num_downscales=num_downscales, max_frames=max_frames, **kwargs
    )
    seconds = time.perf_counter() - start
    return {"included": report.included, "excluded": report.excluded, "num_frames": report.num_frames}, seconds


# ----- statistics over training seeds (bench_nvs.py, make_results_md.py) ----------------------------


def seed_std(values: list[float]) -> float:
    """Sample standard deviation over training seeds; 0 for a single seed."""
    return float(statistics.stdev(values)) if len(values) > 1 else 0.0


def paired_by_seed(runs: list[dict], others: list[dict], key: str) -> Optional[dict[str, float]]:
    """Metric `key` of `runs` minus that of `others`, seed by seed (each a list of `{"seed", "metrics"}`
    from the same capture): {"mean", "seed_std", "seeds"}; None when they share no seed that has it."""
    mine = {r["seed"]: r["metrics"] for r in runs}
    theirs = {r["seed"]: r["metrics"] for r in others}
    diffs = [mine[s][key] - theirs[s][key] for s in sorted(set(mine) & set(theirs)) if key in mine[s] and key in theirs[s]]
    if not diffs:
        return None
    return {"mean": statistics.fmean(diffs), "seed_std": seed_std(diffs), "seeds": len(diffs)}


# ----- training helpers (bench_training.py, bench_nvs.py) -------------------------------------------


def humansync_trainer_config(
    data_dir: Path,
    output_dir: Path,
    *,
    paper_scale: bool = False,
    device: str = "cpu",
    steps: Optional[int] = None,
    overrides: Optional[dict[str, Any]] = None,
):
    """A deep copy of the `humansync-small` (or, with `paper_scale`, `humansync`) preset pointed at
    `data_dir`, its schedule fitted to `steps` steps when given (`method_configs.fit_schedule`), then
    dotted-path `overrides` applied (e.g. `{"pipeline.model.pose_start_step": 0}`).
    No evaluation, checkpoint or viewer during training: the benchmarks drive those themselves."""
    import copy

    from humansync_ns import method_configs

    preset = method_configs.humansync_method if paper_scale else method_configs.humansync_small_method
    config = copy.deepcopy(preset.config)  # never change the shared preset
    _common_trainer_settings(config, output_dir, device)
    datamanager = config.pipeline.datamanager
    datamanager.data = Path(data_dir)
    datamanager.dataparser.data = Path(data_dir)
    if steps is not None:
        method_configs.fit_schedule(config, steps)
    for key, value in (overrides or {}).items():
        method_configs.set_dotted(config, key, value)
    return config


def nerfacto_trainer_config(data_dir: Path, output_dir: Path, *, device: str = "cpu", num_rays: int = 1024):
    """nerfstudio's `nerfacto` preset with the torch implementation, reading the same data folder
    through the same humansync data manager (so both models get identical batches)."""
    import copy

    from nerfstudio.configs.method_configs import method_configs as ns_methods

    from humansync_ns import method_configs

    config = copy.deepcopy(ns_methods["nerfacto"])
    _common_trainer_settings(config, output_dir, device)
    datamanager = copy.deepcopy(method_configs.humansync_small_method.config.pipeline.datamanager)
    datamanager.data = Path(data_dir)
    datamanager.dataparser.data = Path(data_dir)
    datamanager.train_num_rays_per_batch = datamanager.eval_num_rays_per_batch = num_rays
    config.pipeline.datamanager = datamanager
    config.pipeline.model.implementation = "torch"
    config.mixed_precision = device.startswith("cuda")
    return config


def _common_trainer_settings(config: Any, output_dir: Path, device: str) -> None:
    config.output_dir = Path(output_dir)
    config.experiment_name = "bench"
    config.timestamp = "run"
    config.vis = "tensorboard"
    config.machine.device_type = "cuda" if device.startswith("cuda") else "cpu"
    config.steps_per_eval_batch = config.steps_per_eval_image = config.steps_per_eval_all_images = 10**9
    config.steps_per_save = 10**9
    config.save_only_latest_checkpoint = True
    if device == "cpu":
        config.mixed_precision = False


def disable_eager_lpips() -> None:
    """nerfacto builds torchmetrics' LPIPS at model creation, which downloads AlexNet weights and
    crashes offline (shared/notes/nerfstudio-integration.md). The benchmarks never use nerfacto's
    LPIPS, so replace the class by a stub in this process."""
    import torch
    import torchmetrics.image.lpip as lpip

    class _NoLpips(torch.nn.Module):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return torch.tensor(float("nan"))

    lpip.LearnedPerceptualImagePatchSimilarity = _NoLpips  # type: ignore[misc]


class TrainingRun:
    """nerfstudio's Trainer set up from a config and stepped by hand (callbacks before and after
    every iteration, as `Trainer.train` runs them), so the benchmarks can time the steps alone and
    pause the clock while they measure something."""

    def __init__(self, config: Any, seed: int = 0) -> None:
        import torch

        from nerfstudio.engine.callbacks import TrainingCallbackLocation

        self._before = TrainingCallbackLocation.BEFORE_TRAIN_ITERATION
        self._after = TrainingCallbackLocation.AFTER_TRAIN_ITERATION
        torch.manual_seed(seed)
        self.config = config
        start = time.perf_counter()
        self.trainer = config.setup(local_rank=0, world_size=1)
        self.trainer.setup()
        self.setup_s = time.perf_counter() - start
        self.step = 0
        self.train_s = 0.0
        """Wall time spent inside training steps (callbacks included)."""

    @property
    def pipeline(self) -> Any:
        return self.trainer.pipeline

    @property
    def model(self) -> Any:
        return self.trainer.pipeline.model

    def _sync(self) -> None:
        import torch

        if torch.cuda.is_available() and str(self.trainer.device).startswith("cuda"):
            torch.cuda.synchronize()

    def train(self, steps: int) -> float:
        """Runs `steps` training iterations; returns their wall time (also added to `train_s`)."""
        self.pipeline.train()
        self._sync()
        start = time.perf_counter()
        for _ in range(steps):
            for callback in self.trainer.callbacks:
                callback.run_callback_at_location(self.step, location=self._before)
            loss, _, _ = self.trainer.train_iteration(self.step)
            for callback in self.trainer.callbacks:
                callback.run_callback_at_location(self.step, location=self._after)
            self.step += 1
        if steps > 0 and not bool(loss.isfinite()):
            raise FloatingPointError(f"non-finite training loss at step {self.step}")
        self._sync()
        elapsed = time.perf_counter() - start
        self.train_s += elapsed
        return elapsed

    @property
    def rays_per_batch(self) -> int:
        return int(self.config.pipeline.datamanager.train_num_rays_per_batch)


def training_view_psnr(run: TrainingRun, image_indices: list[int]) -> float:
    """Mean PSNR (dB) of training images rendered the way the model sees them in training: for a
    humansync model at its refined poses and times (`refined_train_cameras`), else as given."""
    import torch

    from humansync_ns.pipeline.metrics import psnr

    model = run.model
    dataset = run.pipeline.datamanager.train_dataset
    cameras = dataset.cameras
    if hasattr(model, "time_offsets") and hasattr(model, "camera_optimizer"):
        from humansync_ns.model.calibration_state import refined_train_cameras

        cameras = refined_train_cameras(model, cameras)
    values = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for index in image_indices:
            outputs = model.get_outputs_for_camera(cameras[index : index + 1].to(model.device))
            truth = dataset[index]["image"].float()[..., :3].to(model.device)
            values.append(float(psnr(outputs["rgb"].clamp(0, 1), truth)))
    model.train(was_training)
    return float(sum(values) / len(values))


def small_capture_changes(seed: int, cameras: int, width: int, height: int, duration_s: float) -> dict:
    """SynthConfig changes for the benchmarks' short captures: little start spread and length jitter,
    so a clip of a few seconds still has a long span that every camera covers."""
    return {
        "seed": seed,
        "num_cameras": cameras,
        "width": width,
        "height": height,
        "duration_s": duration_s,
        "start_spread_s": min(0.5, duration_s / 4),
        "length_jitter_s": 0.2,
    }


def add_refinement_capture_arguments(parser: Any) -> None:
    """Options of the frozen-field refinement benchmark (`bench_refinement_signal.py`): the small
    noise-free capture, the displacement, torch threads."""
    parser.add_argument("--turn-deg", type=float, default=3.0, help="turn of a displaced camera (degrees)")
    parser.add_argument("--push-frames", type=float, default=2.0, help="push of a displaced video (frames)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 when sharing the machine)")


def refinement_capture_changes(args: Any, cameras: int) -> dict:
    """SynthConfig changes of a refinement benchmark's capture (`add_refinement_capture_arguments`)."""
    changes = small_capture_changes(args.seed, cameras, args.width, args.height, args.duration)
    changes["fps"] = args.fps
    return changes
