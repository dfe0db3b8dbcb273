"""humansync: dynamic radiance fields from unsynchronized, uncalibrated videos of people."""

__version__ = "0.1.0"
