"""The results of a run, as a file and in memory: ``RunResults`` (per-frame and per-detection
tables, the network's own output block) with its world block (``world_frame``) and foot block
(``foot_motion``); load and save. Stages compute blocks and import this room downward."""
