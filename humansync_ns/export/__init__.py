"""Exports of a trained humansync model (refined calibration as calibration.json + transforms.json)."""
