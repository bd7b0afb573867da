"""Multi-exit networks: backbones, the head design space, the network, save/load."""

from core.models.backbones import BACKBONES, ExitPoint
from core.models.convert import convert_backbone
from core.models.heads import HEAD_PRESETS, HeadConfig
from core.models.io import ModelInfo, load_model, save_model
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT, ExitHeadSpec, ModelSpec

__all__ = [
    "BACKBONES",
    "ExitPoint",
    "convert_backbone",
    "HEAD_PRESETS",
    "HeadConfig",
    "ModelInfo",
    "load_model",
    "save_model",
    "MultiExitNet",
    "FINAL_EXIT",
    "ExitHeadSpec",
    "ModelSpec",
]
