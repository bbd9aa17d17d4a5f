"""Animation clean-up on world-frame SMPL-X motion: foot contact labels and foot locking.

``foot_rig`` says where each foot's heel and toe are on a person's skeleton, ``leg_chain`` poses
them, ``contact`` labels when they touch the floor, ``foot_lock`` removes foot skate and floor
penetration, ``results_stage`` runs both over every track of a run's results.
"""
