"""Tests of core.data (datasets, layouts, transforms, metrics)."""
