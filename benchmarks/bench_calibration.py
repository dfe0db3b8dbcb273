"""Calibration benchmark: the paper's Table 1 / Table 2 protocol on synthetic captures, and run time.

    .venv/bin/python benchmarks/bench_calibration.py              # writes benchmarks/results/calibration.json + .png
    .venv/bin/python benchmarks/bench_calibration.py --seeds 3    # more captures per row
    .venv/bin/python benchmarks/bench_calibration.py --groups scenes --output /tmp/c.json  # some rows only

Accuracy rows (each on `--seeds` synthetic captures with the default rig: 8 static cameras, one
walking person, 30 fps, and the default estimator errors of `SynthConfig`):
- "default": the default estimator noise (Table 1 "Init" analogue);
- "smpl σ=…": Table 2's SMPL-noise rows: `pose_noise_sigma` = `betas_noise` = σ (σ = 0: no
  parameter noise; the other estimator errors stay at their defaults);
- "noise-free": no estimator error at all (the issue's 0.1 frame / 0.1° target);
- "mixed fps": every second camera at 24 fps;
- "Eq. 15": the DTW distance on SMPL parameters instead of joints (Table 2 first row).
Scene rows (group "scenes", the issue's capture list; same default estimator noise):
- "people=2", "people=3" (the default rows have 1 person); "cameras=24" (the default rows have 8);
- "moving camera": 8 static cameras plus one hand-held camera walking around the scene;
- "degraded appearance": per-video gamma 0.35…2.1 and pixel noise σ = 0.05 on the videos. The
  calibration reads only the motion files, so this row must equal "default" exactly: the benchmark
  checks it (`appearance_check`). What degraded videos do to the radiance field is the NVS
  benchmark's business (`bench_nvs.py --degraded`).
Each row runs the paper's variant (`CalibrationConfig.paper()`: plain DTW, greedy Eq. 5, integer
frames, plain Procrustes) and the improved default (robust cost, sub-frame, cycle-consistent,
bearings). Errors are the Table 1 protocol (`humansync_ns.calibration.errors`).

Run time: `calibrate()` on captures of N videos × F frames (default config and the paper's), the
fastest of `--repeats` runs, the issue's target being 30 × 300 in under 10 s on this 2-core machine
(shared with other jobs: the load average is recorded next to the numbers).

Scale (`--scale`, issue 19 §3; writes `results/calibration_scale.json` + `.png`): captures of
`--scale-videos` videos × `--scale-frames` frames (motion files only, `render_videos=False`, cached
under `--scale-cache`), each calibrated in a fresh process that reads the motion files as
humansync-calibrate does, so that its peak RSS is that of one calibration: the default (DTW on
all pairs up to 25 videos, beyond that a sparse graph of pairs, `time_alignment.align_times`) and,
up to `--scale-all-pairs-max` videos, DTW on all N(N−1)/2 pairs, and the default on one thread (on
a machine whose cores are busy, a second thread only adds GIL contention). Each row records wall and CPU
seconds, peak RSS, the Table-1 errors and the load average before and after (`--scale-repeats`: the
fastest of several runs, all of them kept); the target is 100 × 1800 in ≤ 10 s and ≤ 1 GB on 2 cores
(`--workers 2`, one BLAS thread). On a machine busier than its cores wall time stretches: the
targets also say whether the CPU time (all threads) is within 10 s, which one free core would give.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from humansync_ns.calibration.calibrate import CalibrationConfig, calibrate
from humansync_ns.calibration.errors import calibration_errors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, machine_info, write_results  # noqa: E402

SIGMAS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)
VARIANTS = {"paper": CalibrationConfig.paper, "improved": CalibrationConfig}


GROUPS = ("table2", "scenes")
DEGRADED = {"gamma_range": (0.35, 2.1), "image_noise_sigma": 0.05}


def _rows(groups: tuple[str, ...] = GROUPS) -> dict[str, tuple[dict, dict]]:
    """Row name → (SynthConfig changes, CalibrationConfig changes), for the chosen row groups."""
    rows: dict[str, tuple[dict, dict]] = {"default": ({}, {})}
    if "table2" in groups:
        for sigma in SIGMAS:
            rows[f"smpl σ={sigma:g}"] = ({"pose_noise_sigma": sigma, "betas_noise": sigma}, {})
        rows["noise-free"] = ({"noise_free": True}, {})
        rows["mixed fps 24/30"] = ({"mixed_fps": True}, {})
        rows["Eq. 15 (L2 on SMPL params)"] = ({}, {"distance": "params"})
    if "scenes" in groups:
        rows["people=2"] = ({"num_people": 2}, {})
        rows["people=3"] = ({"num_people": 3}, {})
        rows["cameras=24"] = ({"num_cameras": 24}, {})
        rows["moving camera"] = ({"moving_camera": True}, {})
        rows["degraded appearance"] = (dict(DEGRADED), {})
    return rows


def _capture(seed: int, changes: dict):
    from humansync_ns.synthetic.capture import simulate_capture
    from humansync_ns.synthetic.config import SynthConfig

    changes = dict(changes)
    noise_free = changes.pop("noise_free", False)
    config = SynthConfig(seed=seed, render_videos=False, **changes)
    return simulate_capture(config.noise_free() if noise_free else config)


def accuracy(seeds: int, groups: tuple[str, ...] = GROUPS) -> dict:
    from rich.progress import track

    results: dict = {}
    rows = _rows(groups)
    jobs = [(row, seed) for row in rows for seed in range(seeds)]
    per_row: dict = {row: {v: [] for v in VARIANTS} for row in rows}
    for row, seed in track(jobs, description="accuracy rows"):
        synth_changes, calib_changes = rows[row]
        capture = _capture(100 + seed, synth_changes)
        for variant, make in VARIANTS.items():
            config = make()
            for key, value in calib_changes.items():
                setattr(config, key, value)
            start = time.perf_counter()
            calibration = calibrate(capture.tracks, config)
            seconds = time.perf_counter() - start
            errors = calibration_errors(calibration, capture.ground_truth)
            per_row[row][variant].append(
                {
                    "seed": 100 + seed,
                    "rotation_deg": errors.mean_rotation_deg,
                    "translation_m": errors.mean_translation_m,
                    "translation_pct": 100 * errors.mean_translation_frac,
                    "time_frames": errors.mean_time_frames,
                    "excluded": len(calibration.excluded),
                    "seconds": seconds,
                }
            )
    for row, variants in per_row.items():
        results[row] = {}
        for variant, runs in variants.items():
            mean = {k: float(np.mean([r[k] for r in runs])) for k in ("rotation_deg", "translation_m", "translation_pct", "time_frames", "seconds")}
            results[row][variant] = {"mean": mean, "runs": runs}
    return results


def timing(video_counts: list[int], frame_counts: list[int], fixed_videos: int, fixed_frames: int, repeats: int) -> list[dict]:
    from rich.progress import track

    from humansync_ns.synthetic.capture import simulate_capture
    from humansync_ns.synthetic.config import SynthConfig

    cases = [(n, fixed_frames) for n in video_counts] + [(fixed_videos, f) for f in frame_counts if f != fixed_frames]
    out = []
    for videos, frames in track(cases, description="run time"):
        duration = frames / 30.0
        config = SynthConfig(
            seed=7, num_cameras=videos, duration_s=duration, start_spread_s=min(1.0, duration / 4), length_jitter_s=0.0, render_videos=False
        )
        capture = simulate_capture(config)
        entry = {"videos": videos, "frames": int(np.mean([t.num_frames for t in capture.tracks])), "load_average": os.getloadavg()[0]}
        for variant, make in VARIANTS.items():
            runs = []
            for _ in range(repeats):  # the machine is shared: keep the fastest of a few runs
                start = time.perf_counter()
                calibration = calibrate(capture.tracks, make())
                runs.append(time.perf_counter() - start)
            entry[f"{variant}_s"] = min(runs)
            entry[f"{variant}_runs_s"] = runs
            entry[f"{variant}_rotation_deg"] = calibration_errors(calibration, capture.ground_truth).mean_rotation_deg
        out.append(entry)
    return out


SCALE_VARIANTS = {"sparse": {}, "all-pairs": {"all_pairs_up_to": 10**9}, "sparse-1-thread": {"workers": 1}}
"""CalibrationConfig changes per scale variant; "all-pairs" and "sparse-1-thread" run up to `--scale-all-pairs-max` videos."""


def scale_capture(cache: Path, videos: int, frames: int) -> Path:
    """The motion files and truth of a videos × frames capture (30 fps, 1 s start spread), generated
    in a child process (the generator holds the clean bodies too) and cached."""
    folder = cache / f"{videos}x{frames}"
    if not (folder / "capture.json").is_file():
        code = (
            "import sys; from humansync_ns.synthetic.capture import generate_capture; from humansync_ns.synthetic.config import SynthConfig; "
            f"generate_capture(SynthConfig(seed=7, num_cameras={videos}, duration_s={frames / 30.0}, start_spread_s=1.0, "
            f"length_jitter_s=0.0, render_videos=False), sys.argv[1])"
        )
        subprocess.run([sys.executable, "-c", code, str(folder)], check=True)
    return folder


def calibrate_once(folder: Path, variant: str, workers: int) -> dict:
    """One calibration of the capture in `folder` in this process (run in a child by `scale`): wall
    and CPU seconds of `calibrate()`, peak RSS of the process, errors."""
    from humansync_ns.calibration.calibration_io import load_calibration
    from humansync_ns.motion.format import load_motion_dir

    tracks = load_motion_dir(folder / "motion")
    truth = load_calibration(folder / "ground_truth" / "ground_truth.json")
    config = CalibrationConfig(**{"workers": workers, **SCALE_VARIANTS[variant]})
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    calibration = calibrate(tracks, config)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    errors = calibration_errors(calibration, truth)
    pairs = calibration.pairwise_offset_s
    return {
        "videos": len(tracks), "frames": int(np.mean([t.num_frames for t in tracks])), "variant": variant, "workers": config.workers,
        "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rotation_deg": errors.mean_rotation_deg, "translation_pct": 100 * errors.mean_translation_frac,
        "time_frames": errors.mean_time_frames, "excluded": len(calibration.excluded),
        "warnings": sum(len(v.observability.warnings) for v in calibration.videos),
        "pairs_with_offset": int((np.isfinite(pairs).sum() - len(pairs)) // 2),
        "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
    }


def scale(videos: list[int], frames: list[int], all_pairs_max: int, cache: Path, workers: int, repeats: int = 1) -> list[dict]:
    """One row per capture and variant: the run with the shortest wall time of `repeats` (the machine is
    shared), with every run's wall and CPU seconds, peak RSS and load average under "runs"."""
    rows = []
    for n in videos:
        for f in frames:
            folder = scale_capture(cache, n, f)
            for variant in SCALE_VARIANTS:
                if variant != "sparse" and n > all_pairs_max:
                    continue
                env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
                runs = []
                for _ in range(repeats):
                    child = subprocess.run([sys.executable, __file__, "--calibrate-once", str(folder), variant, str(workers)],
                                           check=True, capture_output=True, text=True, env=env)
                    runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
                r = dict(min(runs, key=lambda run: run["seconds"]))
                r["runs"] = [{k: run[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb", "load_average_before", "load_average_after")}
                             for run in runs]
                rows.append(r)
                print(f"{n:4d} videos × {r['frames']} frames, {variant:9s}: {r['seconds']:7.1f} s (cpu {r['cpu_seconds']:.1f} s), "
                      f"{r['peak_rss_mb']:6.0f} MB, rot {r['rotation_deg']:.4f}°, trans {r['translation_pct']:.3f} %, "
                      f"time {r['time_frames']:.4f} fr, load {r['load_average_before']:.1f}→{r['load_average_after']:.1f}", flush=True)
    return rows


def plot_scale(rows: list[dict], path: Path) -> None:
    """Seconds (log-log) and peak RSS against the number of videos, per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant, style in (("sparse", "s-"), ("all-pairs", "o--"), ("sparse-1-thread", "^:")):
        chosen = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["videos"])
        if not chosen:
            continue
        x = [r["videos"] for r in chosen]
        axes[0].plot(x, [r["seconds"] for r in chosen], style, label=f"{variant} (wall)")
        axes[0].plot(x, [r["cpu_seconds"] for r in chosen], style, alpha=0.4, label=f"{variant} (CPU)")
        axes[1].plot(x, [r["peak_rss_mb"] / 1024 for r in chosen], style, label=variant)
    axes[0].axhline(10.0, color="red", lw=0.8, ls="--", label="target 100 videos ≤ 10 s")
    axes[1].axhline(1.0, color="red", lw=0.8, ls="--", label="target ≤ 1 GB")
    for ax, label in zip(axes, ("calibrate() seconds", "peak RSS (GiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log" if ax is axes[0] else "linear")
        ax.set_xticks(sorted({r["videos"] for r in rows}))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"videos (× {rows[0]['frames']} frames)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.suptitle(f"calibration cost against the number of videos ({rows[0]['workers']} threads; load average in the JSON)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot(results: dict, path: Path) -> None:
    """Noise sweep (3 panels), every accuracy row's rotation error (bars), run time; panels whose
    rows were not run are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accuracy_rows = results["accuracy"]
    sigma_rows = [f"smpl σ={s:g}" for s in SIGMAS]
    panels = (["sweep"] * 3 if all(r in accuracy_rows for r in sigma_rows) else []) + ["rows"] + (["timing"] if results["timing"] else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels) + 2, 4.5), squeeze=False)
    axes = list(axes[0])
    if panels[0] == "sweep":
        for ax, key, label in zip(axes[:3], ("rotation_deg", "translation_pct", "time_frames"), ("rotation (°)", "translation (% scene)", "time (frames)")):
            for variant, style in (("paper", "o-"), ("improved", "s-")):
                ax.plot(SIGMAS, [accuracy_rows[r][variant]["mean"][key] for r in sigma_rows], style, label=variant)
            ax.set_xscale("symlog", linthresh=0.01)
            ax.set_xlabel("SMPL parameter noise σ")
            ax.set_title(label)
            ax.legend()
    ax = axes[panels.index("rows")]
    names = [r for r in accuracy_rows if r not in sigma_rows]
    y = np.arange(len(names))
    for offset, variant in ((-0.2, "paper"), (0.2, "improved")):
        ax.barh(y + offset, [accuracy_rows[r][variant]["mean"]["rotation_deg"] for r in names], height=0.4, label=variant)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("rotation error (°)")
    ax.set_title("captures and variants")
    ax.legend(fontsize=7)
    if "timing" in panels:
        ax = axes[panels.index("timing")]
        rows = results["timing"]
        by_videos = [r for r in rows if r["frames"] == rows[0]["frames"]]
        for variant, style in (("paper", "o-"), ("improved", "s-")):
            ax.plot([r["videos"] for r in by_videos], [r[f"{variant}_s"] for r in by_videos], style, label=f"{variant}, ~{rows[0]['frames']} frames")
        ax.axhline(10.0, color="red", lw=0.8, ls="--", label="target 30 × 300 < 10 s")
        ax.set_xlabel("videos")
        ax.set_ylabel("seconds")
        ax.set_title("calibrate() run time")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def appearance_check(results: dict) -> dict:
    """The degraded-appearance row against the default row: identical, since calibration reads
    only the motion files (appearance changes only the videos)."""
    if "degraded appearance" not in results or "default" not in results:
        return {}
    same = all(
        results["degraded appearance"][v]["runs"][i][k] == results["default"][v]["runs"][i][k]
        for v in VARIANTS
        for i in range(len(results["default"][v]["runs"]))
        for k in ("rotation_deg", "translation_m", "time_frames")
    )
    return {"identical_to_default": same, "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in DEGRADED.items()},
            "why": "calibrate() reads only the motion files; gamma and pixel noise change only the videos"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="captures per accuracy row")
    parser.add_argument("--videos", type=int, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--frames", type=int, nargs="+", default=[150, 300, 600])
    parser.add_argument("--repeats", type=int, default=3, help="timing runs per case (the fastest is reported)")
    parser.add_argument("--groups", nargs="+", choices=GROUPS, default=list(GROUPS),
                        help="accuracy row groups: table2 (noise sweep, noise-free, mixed fps, Eq. 15), scenes "
                             "(people, cameras, moving camera, degraded appearance); 'default' always runs")
    parser.add_argument("--skip-timing", action="store_true", help="accuracy rows only")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "calibration.json")
    parser.add_argument("--scale", action="store_true", help="only the scale rows (results/calibration_scale.json)")
    parser.add_argument("--scale-videos", type=int, nargs="+", default=[10, 25, 50, 100, 200, 500])
    parser.add_argument("--scale-frames", type=int, nargs="+", default=[1800])
    parser.add_argument("--scale-all-pairs-max", type=int, default=100,
                        help="largest capture also run with DTW on all pairs, and with one thread")
    parser.add_argument("--scale-cache", type=Path, default=Path("/tmp/humansync_bench_scale"), help="generated captures")
    parser.add_argument("--scale-repeats", type=int, default=1, help="runs per scale row (the one with the shortest wall time is reported)")
    parser.add_argument("--workers", type=int, default=2, help="threads of calibrate() in the scale rows")
    parser.add_argument("--calibrate-once", nargs=3, metavar=("FOLDER", "VARIANT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calibrate_once:
        folder, variant, workers = args.calibrate_once
        print(json.dumps(calibrate_once(Path(folder), variant, int(workers))))
        return
    if args.scale:
        main_scale(args)
        return
    results = {"machine": machine_info(), "settings": vars(args) | {"output": str(args.output)}}
    start = time.perf_counter()
    results["accuracy"] = accuracy(args.seeds, tuple(args.groups))
    results["appearance_check"] = appearance_check(results["accuracy"])
    results["timing"] = [] if args.skip_timing else timing(args.videos, args.frames, fixed_videos=10, fixed_frames=300, repeats=args.repeats)
    results["benchmark_seconds"] = time.perf_counter() - start
    target = next((r for r in results["timing"] if r["videos"] == 30), None)  # None with --skip-timing
    results["targets"] = {
        "30x300_under_10s_improved": None if target is None else target["improved_s"] < 10.0,
        "30x300_improved_s": None if target is None else target["improved_s"],
    }
    write_results(args.output, results)
    plot(results, args.output.with_suffix(".png"))
    print(f"{'row':32s} {'variant':9s} {'rot °':>7s} {'trans %':>8s} {'time fr':>8s}")
    for row, variants in results["accuracy"].items():
        for variant, data in variants.items():
            m = data["mean"]
            print(f"{row:32s} {variant:9s} {m['rotation_deg']:7.3f} {m['translation_pct']:8.2f} {m['time_frames']:8.3f}")
    for r in results["timing"]:
        print(f"{r['videos']:3d} videos × {r['frames']:4d} frames: improved {r['improved_s']:.2f} s, paper {r['paper_s']:.2f} s (load {r['load_average']:.1f})")
    print(f"wrote {args.output} and {args.output.with_suffix('.png')}")


def main_scale(args: argparse.Namespace) -> None:
    output = args.output if args.output != RESULTS_DIR / "calibration.json" else RESULTS_DIR / "calibration_scale.json"
    results = {"machine": machine_info(), "settings": {k: v for k, v in vars(args).items() if k.startswith("scale") or k == "workers"}}
    results["settings"]["blas_threads"] = 1
    start = time.perf_counter()
    results["rows"] = scale(args.scale_videos, args.scale_frames, args.scale_all_pairs_max, args.scale_cache, args.workers,
                            args.scale_repeats)
    results["benchmark_seconds"] = time.perf_counter() - start
    target = next((r for r in results["rows"] if r["videos"] == 100 and r["variant"] == "sparse"), None)
    reference = next((r for r in results["rows"] if r["videos"] == 100 and r["variant"] == "all-pairs"), None)
    single = next((r for r in results["rows"] if r["videos"] == 100 and r["variant"] == "sparse-1-thread"), None)
    results["targets"] = {
        "100_videos_seconds": None if target is None else target["seconds"],
        "100_videos_cpu_seconds": None if target is None else target["cpu_seconds"],
        "100_videos_peak_rss_mb": None if target is None else target["peak_rss_mb"],
        "100_videos_under_10s_and_1gb": None if target is None else target["seconds"] <= 10.0 and target["peak_rss_mb"] <= 1024.0,
        # CPU seconds summed over the threads: at most 10 means 10 s of wall time on one free core, whatever the load.
        "100_videos_under_10_cpu_seconds_and_1gb": None if target is None else target["cpu_seconds"] <= 10.0 and target["peak_rss_mb"] <= 1024.0,
        "100_videos_one_thread_seconds": None if single is None else single["seconds"],
        "100_videos_one_thread_cpu_seconds": None if single is None else single["cpu_seconds"],
        "100_videos_not_less_accurate_than_all_pairs": None if target is None or reference is None else all(
            target[k] <= reference[k] for k in ("rotation_deg", "translation_pct", "time_frames")),
    }
    write_results(output, results)
    plot_scale(results["rows"], output.with_suffix(".png"))
    print(f"wrote {output} and {output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
