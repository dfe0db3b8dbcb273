"""Videos (or frame folders) + calibration → a nerfstudio data folder (`humansync-process`)."""
