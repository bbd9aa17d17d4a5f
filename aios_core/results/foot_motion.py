"""``FootMotion``: the foot stage's results (contact labels, foot-locked world motion).

Numpy only: the results file imports it. Saved in a results file with these keys (see
``aios_core.results.results_file``):

=========================  ================  ==============================================
foot_contact               (D, 4) bool       [left_heel, left_toe, right_heel, right_toe]
foot_lock_applied          () bool           True: the world_locked_* arrays hold the
                                             foot-locked motion; False: labels only
world_locked_body_pose     (D, 21, 3) f32    body pose with planted feet (legs changed only)
world_locked_transl_m      (D, 3) f32        world ``transl`` with planted feet
=========================  ================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core.io.arrays import float32_array

FOOT_CONTACT_KEY = "foot_contact"


@dataclass
class FootMotion:
    contact: np.ndarray  # (D, 4) bool, FOOT_POINTS order
    locked_body_pose: np.ndarray | None = None  # (D, 21, 3) world, None: not locked
    locked_transl_m: np.ndarray | None = None  # (D, 3) world

    def __post_init__(self) -> None:
        self.contact = np.asarray(self.contact, bool)
        count = len(self.contact)
        if self.contact.shape != (count, 4):
            raise ValueError(f"foot_contact must be (D, 4), got {self.contact.shape}")
        if (self.locked_body_pose is None) != (self.locked_transl_m is None):
            raise ValueError("foot-locked motion needs both body pose and translation")
        if self.locked:
            self.locked_body_pose = float32_array(
                "world_locked_body_pose", self.locked_body_pose, (count, 21, 3))
            self.locked_transl_m = float32_array(
                "world_locked_transl_m", self.locked_transl_m, (count, 3))

    @property
    def locked(self) -> bool:
        return self.locked_body_pose is not None

    def select(self, mask: np.ndarray) -> FootMotion:
        if not self.locked:
            return FootMotion(self.contact[mask])
        return FootMotion(self.contact[mask], self.locked_body_pose[mask],
                          self.locked_transl_m[mask])

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {FOOT_CONTACT_KEY: self.contact, "foot_lock_applied": np.bool_(self.locked)}
        if self.locked:
            arrays["world_locked_body_pose"] = self.locked_body_pose
            arrays["world_locked_transl_m"] = self.locked_transl_m
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> FootMotion | None:
        """None when the file has no foot block; raises KeyError / ValueError when broken."""
        if FOOT_CONTACT_KEY not in arrays:
            return None
        if bool(arrays["foot_lock_applied"]):
            return cls(arrays[FOOT_CONTACT_KEY], arrays["world_locked_body_pose"],
                       arrays["world_locked_transl_m"])
        return cls(arrays[FOOT_CONTACT_KEY])
