"""Training throughput and peak memory of `humansync-small` vs nerfstudio's `nerfacto` (torch
implementation) on the same small synthetic capture, and humansync's time to reach a training-view PSNR.

    .venv/bin/python benchmarks/bench_training.py                  # CPU, ~10 min: results/training.json
    .venv/bin/python benchmarks/bench_training.py --paper-scale    # `humansync` preset, bigger capture, GPU

The capture (`SynthConfig`: cameras, size, length below) is processed with `process_capture`
(calibrated from its motion files) once and cached. Both models read it through the same
`humansync-data` data manager with the same rays per batch, so they get identical batches.
Each measurement runs in a fresh subprocess, so peak RSS (`ru_maxrss`) and CUDA max-allocated are
its own: `--warmup` steps (not timed), then `--steps` timed steps (one run each; callbacks
included, as `ns-train` runs them; no evaluation, viewer or checkpoints). rays/s = steps × batch /
time. nerfacto's LPIPS (built eagerly, needs a download) is stubbed out; it is not used.

Time to PSNR: a third subprocess trains humansync for `--psnr-steps` steps and every
`--psnr-every` steps renders `--psnr-views` training frames at the model's refined poses and times
(clock paused meanwhile); the training time at which the mean PSNR first reaches each of
`--psnr-targets` is reported (null when never reached), with the whole curve.
The machine is shared: the load average is recorded next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS_DIR,
    machine_info,
    peak_rss_mb,
    resolve_device,
    small_capture_changes,
    synthetic_data_folder,
    write_results,
)


def _config(method: str, args: argparse.Namespace, output_dir: Path):
    from common import disable_eager_lpips, humansync_trainer_config, nerfacto_trainer_config

    if method == "nerfacto":
        disable_eager_lpips()
        return nerfacto_trainer_config(args.data_dir, output_dir, device=args.device, num_rays=args.rays)
    overrides = {
        "pipeline.datamanager.train_num_rays_per_batch": args.rays,
        "pipeline.datamanager.eval_num_rays_per_batch": args.rays,
    }
    return humansync_trainer_config(
        args.data_dir, output_dir, paper_scale=args.paper_scale, device=args.device, steps=args.max_iterations, overrides=overrides
    )


def worker(args: argparse.Namespace) -> dict:
    """One measurement in this (fresh) process."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from common import TrainingRun, training_view_psnr

    rss_start = peak_rss_mb()
    method = args.worker_method
    config = _config(method, args, args.work_dir / f"outputs_{method}_{args.worker}")
    run = TrainingRun(config, seed=0)
    cuda = args.device.startswith("cuda")
    out: dict = {"method": method, "setup_s": run.setup_s, "rays_per_batch": run.rays_per_batch,
                 "num_parameters": sum(p.numel() for p in run.model.parameters())}
    if args.worker == "throughput":
        run.train(args.warmup)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        seconds = run.train(args.steps)
        out.update(
            warmup_steps=args.warmup,
            steps=args.steps,
            seconds=seconds,
            seconds_per_step=seconds / args.steps,
            rays_per_s=args.steps * run.rays_per_batch / seconds,
            peak_rss_mb=peak_rss_mb(),
            rss_mb_after_imports=rss_start,
            cuda_max_allocated_mb=torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        )
    else:  # time to PSNR
        dataset = run.pipeline.datamanager.train_dataset
        n = len(dataset)
        views = [int(i * n / args.psnr_views + n / (2 * args.psnr_views)) for i in range(args.psnr_views)]
        curve = [{"step": 0, "train_s": 0.0, "psnr": training_view_psnr(run, views)}]
        while run.step < args.psnr_steps:
            run.train(min(args.psnr_every, args.psnr_steps - run.step))
            curve.append({"step": run.step, "train_s": run.train_s, "psnr": training_view_psnr(run, views)})
            print(f"step {run.step}: {curve[-1]['psnr']:.2f} dB after {run.train_s:.0f} s", file=sys.stderr, flush=True)
        reached = {}
        for target in args.psnr_targets:
            hit = next((c for c in curve if c["psnr"] >= target), None)
            reached[f"{target:g}"] = None if hit is None else {"train_s": hit["train_s"], "step": hit["step"]}
        out.update(views=views, curve=curve, time_to_psnr=reached, final_psnr=curve[-1]["psnr"], peak_rss_mb=peak_rss_mb())
    return out


def run_worker(kind: str, method: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", kind, "--worker-method", method] + args.passthrough
    print(f"[bench_training] {kind} {method} ...", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"worker {kind} {method} failed:\n{result.stderr[-4000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - start
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper-scale", action="store_true",
                        help="`humansync` preset (paper sizes) on a bigger capture, 4096 rays; meant for a GPU")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per process (default: torch's); 1 avoids oversubscription on a shared machine")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when available)")
    parser.add_argument("--cameras", type=int, default=None, help="cameras of the capture (default 5; paper scale 8)")
    parser.add_argument("--width", type=int, default=None, help="default 80 (paper scale 320)")
    parser.add_argument("--height", type=int, default=None, help="default 60 (paper scale 240)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of video (default 2.5; paper scale 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rays", type=int, default=None, help="rays per batch, both methods (default 1024; paper scale 4096)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before the timed ones")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per method (default 30; paper scale 500)")
    parser.add_argument("--max-iterations", type=int, default=None,
                        help="fit the preset's schedule to this many steps (method_configs.fit_schedule); default: the preset's")
    parser.add_argument("--psnr-steps", type=int, default=None, help="time-to-PSNR training length (default 500; paper scale 5000)")
    parser.add_argument("--psnr-every", type=int, default=None, help="steps between PSNR measurements (default 50; paper scale 500)")
    parser.add_argument("--psnr-views", type=int, default=4, help="training frames rendered per PSNR measurement")
    parser.add_argument("--psnr-targets", type=float, nargs="+", default=[18.0, 20.0, 22.0, 23.0, 24.0])
    parser.add_argument("--skip-nerfacto", action="store_true")
    parser.add_argument("--skip-psnr", action="store_true")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/humansync_bench_training"))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "training.json")
    parser.add_argument("--worker", choices=["throughput", "psnr"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-method", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    paper = args.paper_scale
    defaults = {"cameras": (5, 8), "width": (80, 320), "height": (60, 240), "duration": (2.5, 5.0), "rays": (1024, 4096),
                "steps": (30, 500), "psnr_steps": (500, 5000), "psnr_every": (50, 500)}
    for name, (small, big) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, big if paper else small)
    args.device = resolve_device(args.device)
    return args


def main() -> None:
    args = parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args)))
        return
    start = time.perf_counter()
    data = synthetic_data_folder(args.work_dir / "capture", small_capture_changes(args.seed, args.cameras, args.width, args.height, args.duration), calibration="improved")
    args.data_dir = data["data_dir"]
    passthrough = sys.argv[1:] + ["--data-dir", str(args.data_dir)]
    args.passthrough = passthrough
    import torch  # noqa: F401  (so machine_info records torch's version)

    results: dict = {
        "benchmark": "training throughput, peak memory, time to PSNR",
        "machine": machine_info(args.device),
        "settings": {k: v for k, v in vars(args).items() if k not in ("passthrough", "worker", "worker_method")},
        "capture": {"synth_config": data["synth_config"], "generate_s": data["generate_s"], "process_s": data["process_s"]},
    }
    methods = ["humansync-paper" if args.paper_scale else "humansync-small"] + ([] if args.skip_nerfacto else ["nerfacto"])
    results["throughput"] = {m: run_worker("throughput", "nerfacto" if m == "nerfacto" else "humansync", args) for m in methods}
    for name, entry in results["throughput"].items():
        entry["method"] = name
    if not args.skip_psnr:
        results["time_to_psnr"] = run_worker("psnr", "humansync", args)
    hs = results["throughput"][methods[0]]
    if "nerfacto" in results["throughput"]:
        nf = results["throughput"]["nerfacto"]
        results["comparison"] = {
            "humansync_over_nerfacto_rays_per_s": hs["rays_per_s"] / nf["rays_per_s"],
            "target_humansync_at_least_as_fast_per_ray": hs["rays_per_s"] >= nf["rays_per_s"],
        }
    results["benchmark_seconds"] = time.perf_counter() - start
    write_results(args.output, results)
    for name, entry in results["throughput"].items():
        cuda = f", CUDA max allocated {entry['cuda_max_allocated_mb']:.0f} MiB" if entry.get("cuda_max_allocated_mb") else ""
        print(f"{name:16s} {entry['rays_per_s']:8.0f} rays/s ({entry['seconds_per_step']:.3f} s/step), peak RSS {entry['peak_rss_mb']:.0f} MiB{cuda}")
    if "time_to_psnr" in results:
        print("time to PSNR (training views):", json.dumps(results["time_to_psnr"]["time_to_psnr"]))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
