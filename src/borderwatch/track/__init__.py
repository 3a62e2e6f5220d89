"""Tracking stage: motion blobs in, tracked boxes with ids out."""

from .tracker import BlobTracker, GatedIoU, TrackedBoxes

__all__ = ["BlobTracker", "GatedIoU", "TrackedBoxes"]
