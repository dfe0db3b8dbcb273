"""An ``ffmpeg`` command for nerfstudio's ``ns-render``, from the imageio-ffmpeg wheel.

nerfstudio 1.1.5's ``ns-render`` refuses to start without a program named ``ffmpeg`` on ``PATH``
(``install_checks.check_ffmpeg_installed``, ``shutil.which``), even for ``--output-format images``,
and mediapy then runs that program to encode the mp4. The imageio-ffmpeg wheel (a dependency) ships
a static ffmpeg, but under a versioned file name that no ``PATH`` lookup finds. So this package
installs a console script named ``ffmpeg`` (``entrypoint`` below) next to ``ns-render`` in the
environment's scripts folder; it replaces itself with the wheel's binary. With the environment
activated, nerfstudio finds it like any installed program, and a system ffmpeg earlier on ``PATH``
still wins.

When ``ns-render`` runs without the environment activated (``.venv/bin/ns-render``), that folder is
not on ``PATH``; ``find_environment_ffmpeg``, called when nerfstudio imports the plugin
(``method_configs``), then appends it to this process's ``PATH`` (only if no ffmpeg is found there
and the console script exists: two file lookups, and nothing that can raise).

``humansync-render`` needs none of this: it encodes with PyAV, whose wheel bundles the libraries.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig

_GUARD = "HUMANSYNC_FFMPEG_SHIM"
"""Set while the console script looks for the binary: imageio-ffmpeg's fallbacks validate an
``ffmpeg`` on ``PATH`` (maybe this script) by running it, which must not recurse."""


def find_environment_ffmpeg() -> None:
    """Append the environment's scripts folder to ``PATH`` when it holds this package's ``ffmpeg``
    and no ffmpeg is on ``PATH`` yet (see the module docstring)."""
    if shutil.which("ffmpeg") is not None:
        return
    scripts = sysconfig.get_path("scripts")
    if os.access(os.path.join(scripts, "ffmpeg"), os.X_OK):
        os.environ["PATH"] = os.pathsep.join(part for part in (os.environ.get("PATH", ""), scripts) if part)


def entrypoint() -> None:
    """Console script ``ffmpeg``: runs imageio-ffmpeg's binary with this command's arguments."""
    if os.environ.get(_GUARD):
        sys.exit("ffmpeg (humansync): imageio-ffmpeg has no ffmpeg binary for this platform; install ffmpeg")
    os.environ[_GUARD] = "1"
    import imageio_ffmpeg

    try:
        executable = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:
        sys.exit(f"ffmpeg (humansync): {error}")
    del os.environ[_GUARD]
    os.execv(executable, [executable, *sys.argv[1:]])
