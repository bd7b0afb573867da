"""Datasets, class sets, transforms and metrics for semantic segmentation (no Qt here)."""

from core.data.classes import CLASS_SETS, ClassSet, load_class_set
from core.data.datasets import SegmentationDataset, detect_layout, open_dataset, open_unlabelled
from core.data.layouts import DATASET_LAYOUTS, DatasetLayout
from core.data.metrics import ConfusionMatrix, iou_per_class, mean_iou, mean_iou_batch, pixel_accuracy
from core.data.sample import Sample
from core.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ColourJitter,
    Compose,
    Normalize,
    RandomHorizontalFlip,
    RandomScaleCrop,
    Resize,
    ToTensor,
    Transform,
    eval_transform,
    preprocess_frame,
)
from core.data.augmentations import train_transform

__all__ = [
    "CLASS_SETS",
    "ClassSet",
    "load_class_set",
    "Sample",
    "SegmentationDataset",
    "open_dataset",
    "open_unlabelled",
    "detect_layout",
    "DATASET_LAYOUTS",
    "DatasetLayout",
    "ConfusionMatrix",
    "iou_per_class",
    "mean_iou",
    "mean_iou_batch",
    "pixel_accuracy",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Transform",
    "Resize",
    "RandomScaleCrop",
    "RandomHorizontalFlip",
    "ColourJitter",
    "Normalize",
    "ToTensor",
    "Compose",
    "train_transform",
    "eval_transform",
    "preprocess_frame",
]
