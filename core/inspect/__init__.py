"""Inspecting exits: one frame through every exit at once, with the confidence that decides (no Qt here)."""

from core.inspect.frame import ExitView, FrameInspection, depth_order, inspect_frame
from core.inspect.grid import render_grid
from core.inspect.loading import at_input_size, read_frame, read_label

__all__ = ["ExitView", "FrameInspection", "depth_order", "inspect_frame", "render_grid", "at_input_size",
           "read_frame", "read_label"]
