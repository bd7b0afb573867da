"""Video in and out, and the live player: sources and the recorder, drawing (overlay, live view, readouts,
the exit in words), the Live page's Qt-free controls, and the player that runs a source through the exit
machinery of core.runtime (policy, config, early_exit, host, backends, live.LiveRunner)."""
