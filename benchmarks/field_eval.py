"""What the field benchmarks (`bench_nvs.py`, `bench_field_levers.py`) share: the demo's run
sizes and the options of a seeded run, one training + held-out evaluation in a worker process (the
demo's protocol), the workers run `--jobs` at a time with partial results written as they finish
(`train_all`), the mean over seeds, and the PNG of held-out frames that shows the ground truth
beside each run's render.

A worker is the benchmark script itself started again with `--worker NAME --seed S --data-dir D`
(and the parent's own arguments): it prints one JSON line, `train_and_evaluate`'s dict plus its
script's fields, which `run_worker` reads back.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from common import peak_rss_mb, seed_std, write_results

SEED_SPREAD_KEYS = ("psnr", "ssim", "psnr_dynamic", "psnr_before_tto")
"""Metrics whose spread over training seeds is reported (the noise a comparison must beat)."""
PER_SEED_KEYS = ("seed", "metrics", "train_view_psnr", "calibration_refined", "calibration_curve", "test_time_corrections",
                 "calibration_per_video_refined", "train_s", "seconds_per_step", "eval_s", "wall_s", "peak_rss_mb")
"""A run's own numbers, kept per seed under `per_seed` by `aggregate_seeds`."""
FRAMES_INDEX = "frames.json"
"""Written by `train_and_evaluate` beside the pipeline's eval images: each image's source frame."""


# ----- sizes and options -------------------------------------------------------------------------------

TINY_RUN: dict[str, Any] = dict(cameras=6, capture_seed=0, width=64, height=48, downscale=2, duration=1.5, start_spread=0.5,
                                steps=40, rays=256, tto_steps=10, eval_frame_stride=8, seeds=[0])
"""`--tiny`: a harness check of a minute or two per run; its numbers mean nothing."""
SIZE_KNOBS = ("cameras", "width", "height", "downscale", "steps", "rays", "tto_steps", "eval_frame_stride")
"""Integer size options (`--cameras` ...); `--duration` and `--start-spread` are seconds."""


def demo_run() -> dict[str, Any]:
    """The demo's run (`humansync-demo`'s defaults, read from `Demo` so the benchmarks follow it):
    its capture's image size, length and start spread, its training resolution (`downscale`), step
    count, test-time optimisation and eval stride; humansync-small's 1024 rays per batch. `cameras`
    None: the rig preset's count."""
    from humansync_ns.tools.demo import Demo

    demo = Demo()
    capture = demo.capture
    return dict(cameras=None, capture_seed=capture.seed, width=capture.width, height=capture.height, downscale=demo.downscale_factor,
                duration=capture.duration_s, start_spread=capture.start_spread_s, steps=demo.max_num_iterations, rays=1024,
                tto_steps=demo.test_time_steps, eval_frame_stride=demo.eval_frame_stride)


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """The capture's and the run's size options; None until `fill_sizes` gives them their preset."""
    for name in SIZE_KNOBS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                            help="default: the size preset's" + (" (downscale: train at 1/N resolution)" if name == "downscale" else ""))
    parser.add_argument("--duration", type=float, default=None, help="seconds of video (default: the size preset's)")
    parser.add_argument("--start-spread", type=float, default=None,
                        help="videos start up to this many seconds apart (default: the size preset's); the paper's Panoptic "
                             "videos are 30.6 frames (1 s) off on average, and a Sync-NeRF-like start at offset 0 is only a "
                             "handicap when the true offsets are that large")
    parser.add_argument("--capture-seed", type=int, default=None, help="seed of the synthetic capture (default: the demo's)")


def fill_sizes(args: argparse.Namespace, sizes: dict[str, Any]) -> None:
    """Every size option left unset takes its value from `sizes`."""
    for name, value in sizes.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def capture_changes(args: argparse.Namespace, rig: str) -> dict[str, Any]:
    """`SynthConfig` fields of the demo's capture (`Demo().capture`) with the sizes' changes: `rig`
    with `args.cameras` cameras, image size, length, start spread and seed."""
    from humansync_ns.tools.demo import Demo

    demo = {k: v for k, v in Demo().capture.to_dict().items() if k != "render_videos"}  # synthetic_data_folder renders them
    return {**demo, "rig": rig, "num_cameras": args.cameras, "seed": args.capture_seed, "width": args.width, "height": args.height,
            "duration_s": args.duration, "start_spread_s": args.start_spread}


def demo_field_overrides() -> dict[str, Any]:
    """The field options the demo trains with (`Demo.field_overrides`: its people focus), so the
    benchmarks measure what users run."""
    from humansync_ns.tools.demo import Demo

    return dict(Demo().field_overrides)


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Dotted overrides every run of a benchmark shares: batch sizes, training resolution, the
    held-out frames scored and their test-time optimisation."""
    return {
        "pipeline.datamanager.train_num_rays_per_batch": args.rays,
        "pipeline.datamanager.eval_num_rays_per_batch": args.rays,
        "pipeline.datamanager.dataparser.downscale_factor": args.downscale,
        "pipeline.datamanager.dataparser.eval_frame_stride": args.eval_frame_stride,
        "pipeline.test_time_optimization.steps": args.tto_steps,
        "pipeline.test_time_optimization.rays_per_batch": args.rays,
    }


def add_run_arguments(parser: argparse.ArgumentParser, worker_names: Sequence[str]) -> None:
    """Options every field benchmark takes: seeds, parallelism, device, extra overrides, and the
    hidden ones its workers are started with."""
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per process (default: torch's); 1 avoids oversubscription on a shared machine")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once, each in its own process (2 with --threads 1 on 2 cores)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="torch seeds: every run trains once per seed; comparisons are paired by seed")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="DOTTED.KEY=VALUE",
                        help="override of the trainer config for every run, e.g. "
                             "pipeline.datamanager.dataparser.scene_box_from=people (repeatable; the value is read as a "
                             "Python literal when it is one, else as a string); recorded in the results' settings")
    parser.add_argument("--verbose", action="store_true", help="show the workers' progress")
    parser.add_argument("--work-dir", type=Path, default=None, help="captures, trainings and eval images (default under /tmp)")
    parser.add_argument("--output", type=Path, default=None, help="results JSON (its frames PNG is written beside it)")
    parser.add_argument("--worker", choices=list(worker_names), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # the worker's seed
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """`["a.b=3", "c=people"]` → `{"a.b": 3, "c": "people"}`: each value a Python literal when it
    parses as one (numbers, True/False/None, tuples), else the string itself."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected DOTTED.KEY=VALUE")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        overrides[key.strip()] = value
    return overrides


def checked_overrides(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """`parse_overrides(args.overrides)`, a malformed `--set` reported as a usage error before any work."""
    try:
        return parse_overrides(args.overrides)
    except ValueError as error:
        parser.error(str(error))


def num_downscales_for(factor: int) -> int:
    """How many halvings `humansync-process` must write so the dataparser reads `images_<factor>/`
    directly (as the demo's data folder has); 0 when the factor is not a power of two (the dataparser
    then resizes on load)."""
    return factor.bit_length() - 1 if factor >= 1 and factor & (factor - 1) == 0 else 0


# ----- one run (in a worker process) ----------------------------------------------------------------


def train_and_evaluate(config: Any, *, seed: int, steps: int, threads: Optional[int], name: str,
                       eval_images: Optional[Path] = None) -> dict[str, Any]:
    """Trains `config` (a `common.humansync_trainer_config`) for `steps` steps, then scores the
    held-out camera as the demo does: test-time optimisation of its pose and time with the field
    frozen, then PSNR, SSIM, moving-region PSNR (and their values before it). Training-view PSNR and
    the training videos' calibration errors (at step 0, every tenth of the run, at the end) come with
    them. With `eval_images`, the pipeline's ground truth | render PNGs go there (emptied first), with
    `frames.json` naming each one's source frame so runs can be shown side by side
    (`held_out_frames_sheet`)."""
    import torch

    if threads:
        torch.set_num_threads(threads)

    from common import TrainingRun, training_view_psnr
    from humansync_ns.model.calibration_state import calibration_errors, per_video_calibration_errors

    run = TrainingRun(config, seed=seed)
    cameras = run.pipeline.datamanager.train_dataset.cameras
    init_errors = calibration_errors(run.model, cameras)
    init_per_video = per_video_calibration_errors(run.model, cameras)
    curve = []
    every = max(1, steps // 10)
    while run.step < steps:
        run.train(min(every, steps - run.step))
        errors = calibration_errors(run.model, cameras)
        curve.append({"step": run.step, "train_s": run.train_s, **errors})
        print(f"{name} seed {seed} step {run.step}: {errors} ({run.train_s:.0f} s)", file=sys.stderr, flush=True)
    n = len(run.pipeline.datamanager.train_dataset)
    train_psnr = training_view_psnr(run, [int(i * n / 4 + n / 8) for i in range(4)])
    if eval_images is not None:
        for stale in eval_images.glob("*.png"):
            stale.unlink()
    start = time.perf_counter()
    metrics = run.pipeline.get_average_eval_image_metrics(output_path=eval_images, get_std=True)
    eval_s = time.perf_counter() - start
    if eval_images is not None:
        _write_frames_index(run.pipeline, eval_images)
    return {
        "steps": run.step,
        "train_s": run.train_s,
        "seconds_per_step": run.train_s / max(run.step, 1),
        "eval_s": eval_s,
        "metrics": metrics,
        "lpips": "available" if run.pipeline.image_metrics.lpips_available else "unavailable (no backbone weights on disk)",
        "train_view_psnr": train_psnr,
        "calibration_init": init_errors,
        "calibration_refined": calibration_errors(run.model, cameras),
        "calibration_per_video_init": init_per_video,
        "calibration_per_video_refined": per_video_calibration_errors(run.model, cameras),
        "calibration_curve": curve,
        "test_time_corrections": {
            video: {"rotation_deg": float(np.degrees(c.rotation_rad)), "translation_scene": c.translation, "time_delta_norm": c.time_delta}
            for video, c in run.pipeline.test_time_corrections.items()
        },
        "train_resolution": [int(cameras.width[0]), int(cameras.height[0])],
        "peak_rss_mb": peak_rss_mb(),
        "cuda_max_allocated_mb": torch.cuda.max_memory_allocated() / 2**20 if str(run.trainer.device).startswith("cuda") else None,
    }


def _write_frames_index(pipeline: Any, folder: Path) -> None:
    """`frames.json`: eval image name → "<video folder>/<frame file>" of the frame it shows. Runs of
    different calibrations score different frames (the common span follows the offsets), and runs
    at different resolutions read different files, so images are matched by source frame, never by
    position. The names follow `HumanSyncPipeline._score_video` (`eval_<video>_<i:04d>.png`, i-th
    scored frame of the video, in `_eval_frames` order)."""
    dataset = pipeline.datamanager.eval_dataset
    names = list(dataset.metadata.get("video_names", []))
    index = {}
    for video, rows in pipeline._eval_frames().items():
        name = names[video] if video < len(names) else f"video{video}"
        for i, row in enumerate(rows.tolist()):
            source = Path(dataset.image_filenames[row])
            index[f"eval_{name}_{i:04d}.png"] = f"{source.parent.name}/{source.stem}"
    (folder / FRAMES_INDEX).write_text(json.dumps(index, indent=1))


# ----- runs in worker processes, several at once ----------------------------------------------------


def run_worker(script: str, passthrough: Sequence[str], name: str, seed: int, data_dir: Path, verbose: bool) -> dict[str, Any]:
    """Runs `script --worker name --seed seed --data-dir data_dir` (after the parent's arguments) in
    a fresh process and returns the JSON dict it prints last; its stderr is shown with `verbose`."""
    command = [sys.executable, script, *passthrough, "--worker", name, "--seed", str(seed), "--data-dir", str(data_dir)]
    tag = f"[{Path(script).stem}] {name} seed {seed}"
    print(f"{tag} ...", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=None if verbose else subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{tag} failed:\n{(result.stderr or '')[-4000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - start
    m = out["metrics"]
    print(f"{tag}: PSNR {m.get('psnr', float('nan')):.2f}, moving region {m.get('psnr_dynamic', float('nan')):.2f}, "
          f"SSIM {m.get('ssim', float('nan')):.3f}, refined {out['calibration_refined']} ({out['wall_s']:.0f} s)", flush=True)
    return out


def train_all(script: str, args: argparse.Namespace, names: Sequence[str], data_dir_of: Callable[[str], Path],
              results: dict[str, Any], key: str) -> None:
    """Trains every name once per `args.seeds` entry in worker processes (`run_worker`), `args.jobs`
    at once; as soon as all seeds of a name are in (in `names` order), its `aggregate_seeds` entry
    goes to `results[key][name]` and the results file is written, so partial results survive an
    interruption. Entries already in `results[key]` (rows kept from an earlier run) stay."""
    passthrough = sys.argv[1:]
    results.setdefault(key, {})
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {name: [pool.submit(run_worker, script, passthrough, name, seed, data_dir_of(name), args.verbose)
                          for seed in args.seeds] for name in names}
        for name, pending in futures.items():
            results[key][name] = aggregate_seeds([future.result() for future in pending])
            write_results(args.output, results)


def recorded_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The parent's options as a results file records them, `--set` parsed into `set_overrides`."""
    return {**{k: v for k, v in vars(args).items() if k not in ("worker", "seed", "data_dir")},
            "set_overrides": parse_overrides(args.overrides)}


def aggregate_seeds(runs: list[dict]) -> dict:
    """One entry from a run per seed (same data, same start): metrics, refined errors, training-view
    PSNR, timings and test-time corrections averaged over the seeds, the metrics' spread over the
    seeds in `metrics_seed_std`, and every run's own numbers under `per_seed`."""
    runs = sorted(runs, key=lambda r: r["seed"])
    entry = {k: v for k, v in runs[0].items() if k not in PER_SEED_KEYS}
    entry["seeds"] = [r["seed"] for r in runs]
    entry["per_seed"] = [{k: r[k] for k in PER_SEED_KEYS if k in r} for r in runs]
    entry["metrics"] = {k: statistics.fmean([r["metrics"][k] for r in runs]) for k in runs[0]["metrics"]}
    entry["metrics_seed_std"] = {k: seed_std([r["metrics"][k] for r in runs]) for k in SEED_SPREAD_KEYS if k in runs[0]["metrics"]}
    entry["calibration_refined"] = {k: statistics.fmean([r["calibration_refined"][k] for r in runs]) for k in runs[0]["calibration_refined"]}
    entry["test_time_corrections"] = {
        video: {k: statistics.fmean([r["test_time_corrections"][video][k] for r in runs]) for k in correction}
        for video, correction in runs[0]["test_time_corrections"].items()
    }
    for key in ("train_view_psnr", "train_s", "seconds_per_step", "eval_s", "wall_s"):
        entry[key] = statistics.fmean([r[key] for r in runs])
    return entry


# ----- pictures ---------------------------------------------------------------------------------------


def held_out_frames_sheet(runs: Sequence[tuple[str, Path]], output: Path, num_frames: int = 5,
                          moving_threshold: float = 0.1, tile_width: int = 320) -> Path:
    """A PNG of held-out frames: ground truth in the first row, then each run's render (`runs`:
    row label and the `eval_images` folder of its `train_and_evaluate`), at `num_frames` evenly
    spaced frames that every run scored; below them the same rows cropped to the moving region (the
    people), magnified twice. Renders at lower resolution are magnified to the largest one (nearest
    neighbour, so their pixels stay visible)."""
    import torch
    from PIL import Image

    from humansync_ns.pipeline.metrics import moving_pixel_masks
    from humansync_ns.render.contact_sheet import grid

    indexes = [_frames_index(folder) for _, folder in runs]
    shared = [frame for frame in indexes[0] if all(frame in index for index in indexes[1:])]
    if not shared:
        raise ValueError(f"{output}: the runs {[label for label, _ in runs]} scored no held-out frame in common")
    picks = np.unique(np.linspace(0, len(shared) - 1, min(num_frames, len(shared))).round().astype(int))
    pairs = [{frame: index[frame] for frame in shared} for index in indexes]
    sizes = [_pair(next(iter(p.values())))[0].shape[:2] for p in pairs]
    reference = int(np.argmax([h * w for h, w in sizes]))  # the sharpest ground truth
    height, width = sizes[reference]

    def fit(image: np.ndarray) -> np.ndarray:
        if image.shape[:2] == (height, width):
            return image
        return np.asarray(Image.fromarray(image).resize((width, height), Image.NEAREST))

    truth_all = [_pair(pairs[reference][frame])[0] for frame in shared]
    rows = [[truth_all[i] for i in picks]] + [[fit(_pair(p[shared[i]])[1]) for i in picks] for p in pairs]
    labels = ["ground truth"] + [label for label, _ in runs]
    if len(truth_all) >= 3:
        masks = moving_pixel_masks(torch.from_numpy(np.stack(truth_all)).float() / 255.0, moving_threshold).numpy()
        boxes = [_crop_box(masks[i], height, width) for i in picks]
        rows += [[_magnified_crop(image, box) for image, box in zip(row, boxes)] for row in rows]
        labels += [f"{label}: moving region x2" for label in labels]
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid(rows, labels=labels, scale=max(1, tile_width // width))).save(output)
    return output


def _frames_index(folder: Path) -> dict[str, Path]:
    """Source frame → eval image path, in scoring order (`_write_frames_index`)."""
    path = Path(folder) / FRAMES_INDEX
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; the run was not evaluated with eval_images")
    return {frame: path.parent / image for image, frame in json.loads(path.read_text()).items()}


def _pair(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ground truth, render) halves of one eval image, uint8 RGB."""
    from PIL import Image

    image = np.asarray(Image.open(path).convert("RGB"))
    half = image.shape[1] // 2
    return image[:, :half], image[:, half:]


def _crop_box(mask: np.ndarray, height: int, width: int) -> tuple[int, int]:
    """Top-left corner of a half-size window centred on the moving pixels (the image centre when
    nothing moves), kept inside the image."""
    ys, xs = np.nonzero(mask)
    cy, cx = (int(ys.mean()), int(xs.mean())) if len(ys) else (height // 2, width // 2)
    return min(max(cy - height // 4, 0), height - height // 2), min(max(cx - width // 4, 0), width - width // 2)


def _magnified_crop(image: np.ndarray, corner: tuple[int, int]) -> np.ndarray:
    """The half-size window at `corner`, magnified (nearest neighbour) to the image's size."""
    height, width = image.shape[:2]
    top, left = corner
    from PIL import Image

    window = np.ascontiguousarray(image[top : top + height // 2, left : left + width // 2])
    return np.asarray(Image.fromarray(window).resize((width, height), Image.NEAREST))
