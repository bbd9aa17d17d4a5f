"""`aios view`: an interactive 3D viewer of a run's results in the browser (viser).

``server`` starts it (``serve_viewer``, ``RunningViewer``); ``scene`` draws with viser;
``timeline``, ``mesh_cache``, ``display_frame`` and ``video_frames`` hold what it shows.
Nothing is imported here, so ``aios_core.viewer.defaults`` stays cheap for the CLI.
"""
