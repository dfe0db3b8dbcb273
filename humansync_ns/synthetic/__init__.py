"""Synthetic unsynchronized multi-view captures of people, with ground truth for every stage.

`capture.simulate_capture(SynthConfig(...))` builds one in memory (cameras, people, motion tracks
with estimator noise, true calibration); `capture.generate_capture` also renders and writes it.
Pure numpy/torch: nothing here imports nerfstudio.
"""
