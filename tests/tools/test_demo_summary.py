"""The demo's final tables print every measured number, and say so where one is missing."""

from pathlib import Path

from rich.console import Console

from humansync_ns.tools.demo import _print_summary


def _summary(**nvs: float) -> dict:
    errors = {"rotation_deg": 0.472, "translation_m": 0.0352, "translation_frac": 0.0082, "time_frames": 0.023}
    return {
        "held_out_camera": "cam07",
        "calibration_errors": {"initialization": errors, "refined": {**errors, "time_frames": 0.284}},
        "novel_view_synthesis": {"num_eval_frames": 36.0, **nvs},
        "paths": {"novel_view_video": "renders/bullet_time.mp4"},
        "seconds": {"total": 654.0},
    }


def _printed(summary: dict) -> str:
    console = Console(record=True, width=200)
    _print_summary(console, summary, Path("summary.json"))
    return console.export_text()


def test_tables_show_errors_and_every_metric() -> None:
    text = _printed(_summary(psnr=20.68, ssim=0.327, psnr_dynamic=14.12, psnr_before_tto=19.49, ssim_before_tto=0.269,
                             psnr_dynamic_before_tto=13.05))
    for value in ("0.472", "0.284", "20.68", "0.327", "14.12", "19.49", "13.05", "PSNR moving region", "unavailable", "10.9 min"):
        assert value in text, value


def test_missing_moving_region_psnr_is_a_dash_not_a_number() -> None:
    text = _printed(_summary(psnr=20.68, ssim=0.327))
    after = next(line for line in text.splitlines() if line.strip().startswith("after") or " after " in line)
    assert "20.68" in after and "–" in after
