"""SMPL / SMPL-H / SMPL-X joints through `smplx`, for users who have the model files (and for the
synthetic SMPL-format model the generator writes).

`smplx` is imported lazily so importing humansync never needs it. Joints come back in the SMPL
24-joint order; for SMPL-H/SMPL-X the two SMPL "hand" joints are taken as the middle-finger base
joints (their nearest equivalent).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from humansync_ns.motion.joints import NUM_JOINTS

ModelType = Literal["smpl", "smplh", "smplx"]
_FILE_PREFIX = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX"}
# Rows of smplx's joint output that give the SMPL 24 joints: body joints 0..21, then middle-finger
# base joints for the hands (SMPL-H: left_middle1 = 25, right_middle1 = 40; SMPL-X adds jaw and
# eyes before the hands, so 28 and 43).
_SMPL24_ROWS = {
    "smpl": list(range(24)),
    "smplh": list(range(22)) + [25, 40],
    "smplx": list(range(22)) + [28, 43],
}
_CHUNK_ROWS = 256


class BodyModelError(ValueError):
    """A body model file is missing or unreadable."""


def find_model_file(model_path: str | Path, model_type: ModelType = "smpl", gender: str = "neutral") -> Path:
    """The model file for `model_type`/`gender`: `model_path` itself, or `<dir>[/<type>]/<TYPE>_<GENDER>.{npz,pkl}`."""
    model_path = Path(model_path)
    if model_type not in _FILE_PREFIX:
        raise BodyModelError(f"model_type must be one of {sorted(_FILE_PREFIX)}, got '{model_type}'")
    if model_path.is_file():
        return model_path
    stem = f"{_FILE_PREFIX[model_type]}_{gender.upper()}"
    tried = [model_path / sub / f"{stem}.{ext}" for sub in ("", model_type) for ext in ("npz", "pkl")]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise BodyModelError(f"{model_path}: no {model_type} body model file; looked for {[str(p) for p in tried]}")


class SmplBodyModel:
    """Joints of a parametric body model, numpy in and out.

    Args:
        model_path: a model file, or a folder holding `<TYPE>_<GENDER>.npz|pkl` (directly or in `<type>/`).
        model_type: "smpl" (69-wide body pose), "smplh" or "smplx" (63-wide).
        gender: "neutral", "male" or "female".
    """

    def __init__(self, model_path: str | Path, model_type: ModelType = "smpl", gender: str = "neutral", num_betas: int = 10) -> None:
        self.model_type = model_type
        self.path = find_model_file(model_path, model_type, gender)
        try:
            import smplx
            import torch
        except ImportError as err:  # pragma: no cover - smplx is a declared dependency
            raise BodyModelError(f"{self.path}: reading SMPL models needs the 'smplx' package ({err})") from err
        self._torch = torch
        kwargs: dict = {"gender": gender, "num_betas": num_betas, "batch_size": 1}
        if model_type == "smpl" and self.path.suffix == ".npz":
            # smplx reads SMPL models only as pickles; hand it the arrays of an .npz directly.
            kwargs["data_struct"] = smplx.utils.Struct(**self._read_npz())
        elif model_type != "smpl":
            kwargs.update(ext=self.path.suffix.lstrip("."), use_pca=False)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10-beta models
                self._model = smplx.create(str(self.path), model_type=model_type, **kwargs)
        except Exception as err:
            raise BodyModelError(f"{self.path}: smplx could not load this {model_type} model ({type(err).__name__}: {err})") from err
        self.num_betas = int(self._model.num_betas)
        self.body_pose_width = 69 if model_type == "smpl" else 63

    def _read_npz(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as err:
            raise BodyModelError(f"{self.path}: not a readable .npz body model ({err})") from err
        missing = [k for k in ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table") if k not in arrays]
        if missing:
            raise BodyModelError(f"{self.path}: missing key(s) {missing} of an SMPL model file")
        return arrays

    def joints(
        self,
        global_orient: np.ndarray,
        body_pose: np.ndarray,
        betas: Optional[np.ndarray] = None,
        transl: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """SMPL-order joints (..., 24, 3) from root (..., 3), body pose (..., 69 | 63), betas (..., B)
        broadcastable to the batch (zeros when None), transl (..., 3) (zeros when None)."""
        torch = self._torch
        global_orient = np.asarray(global_orient, dtype=np.float64)
        batch = global_orient.shape[:-1]
        body_pose = self._fit_width(np.asarray(body_pose, dtype=np.float64), self.body_pose_width, "body_pose")
        betas = np.zeros(batch + (self.num_betas,)) if betas is None else np.asarray(betas, dtype=np.float64)
        betas = self._fit_width(np.broadcast_to(betas, batch + betas.shape[-1:]), self.num_betas, "betas", pad_ok=True)
        transl = np.zeros(batch + (3,)) if transl is None else np.broadcast_to(np.asarray(transl, dtype=np.float64), batch + (3,))
        flat = [a.reshape(-1, a.shape[-1]) for a in (global_orient, body_pose, betas, transl)]
        rows = flat[0].shape[0]
        out = np.empty((rows, NUM_JOINTS, 3))
        index = _SMPL24_ROWS[self.model_type]
        with torch.no_grad():
            for lo in range(0, rows, _CHUNK_ROWS):
                go, bp, be, tr = (torch.from_numpy(np.array(a[lo : lo + _CHUNK_ROWS], dtype=np.float32)) for a in flat)
                output = self._model(global_orient=go, body_pose=bp, betas=be, transl=tr, return_verts=False)
                out[lo : lo + len(go)] = output.joints[:, index].double().numpy()
        return out.reshape(batch + (NUM_JOINTS, 3))

    @staticmethod
    def _fit_width(array: np.ndarray, width: int, name: str, pad_ok: bool = False) -> np.ndarray:
        """Truncates (69 → 63: drops the SMPL hand joints) or zero-pads (63 → 69, fewer betas) the last axis."""
        have = array.shape[-1]
        if have == width:
            return array
        if have > width:
            return array[..., :width]
        if pad_ok or (name == "body_pose" and have == 63):
            return np.concatenate([array, np.zeros(array.shape[:-1] + (width - have,))], axis=-1)
        raise BodyModelError(f"{name}: expected {width} values per row, got {have}")
