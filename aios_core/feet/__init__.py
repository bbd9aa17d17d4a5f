"""Feet of world-frame SMPL-X motion: where heels and toes are, when they touch the floor,
and the motion changed so that they stay put while they do.

``rig`` says where each foot's heel and toe are on a person's skeleton, ``leg_chain`` poses
them, ``contact`` labels when they touch the floor, ``lock`` removes foot skate and floor
penetration, ``stage`` runs both over every track of a run's results, ``motion`` is the block
the results file keeps, ``metrics`` says how clean feet are.
"""
