"""MESS Studio's desktop application: Qt views and workers over the engine in core/.

No model logic lives here: every page calls core objects, and anything that runs
torch runs on a worker thread (app.workers).
"""
