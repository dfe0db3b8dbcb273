"""The humansync method: K-Planes field, Eq. 14 level weights, time offsets, per-video poses, schedule.

Imports nothing, so `import humansync_ns.model` stays cheap; import the submodules you need."""
