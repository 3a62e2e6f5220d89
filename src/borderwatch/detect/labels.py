"""Map detector class names (COCO) to the three borderwatch classes.

borderwatch counts only ``person``, ``vehicle`` and ``animal``; every other COCO class
is dropped by the detector. Decisions (see docs/detector.md):

* ``boat`` and ``train`` are vehicles: water and rail borders exist (the Canada–US
  border runs through lakes and rivers), and each carries people or goods across.
* ``airplane`` is *not* a vehicle here: an aircraft in view is usually an overflight,
  and a crossing is decided on the ground-contact point, which an aircraft lacks.
* ``bicycle`` and ``motorcycle`` are vehicles (the rider is often also detected as a
  person; the track vote decides).

Darknet's ``coco.names`` uses the older spellings (``motorbike``, ``aeroplane``,
``sofa``, ``tvmonitor``, ...); :func:`canonical_name` folds them into the 2017 names so
one table serves both Darknet and ONNX (Ultralytics) models.

>>> borderwatch_class("motorbike")
'vehicle'
>>> borderwatch_class("chair") is None
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

PERSON = "person"
VEHICLE = "vehicle"
ANIMAL = "animal"
UNKNOWN = "unknown"

# Fixed order: the detector's ``class_id`` for a borderwatch class is its index here,
# and ties in a label vote fall back to this order.
CLASSES: tuple[str, ...] = (PERSON, VEHICLE, ANIMAL)

# The 80 COCO-2017 detection classes in the order YOLO models emit them.
COCO_NAMES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck",
    "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis",
    "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard",
    "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife",
    "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
    "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

# Darknet / VOC-era spellings -> COCO-2017 spellings.
_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "motorbike": "motorcycle",
        "aeroplane": "airplane",
        "sofa": "couch",
        "pottedplant": "potted plant",
        "diningtable": "dining table",
        "tvmonitor": "tv",
        "hair dryer": "hair drier",
        "mobile phone": "cell phone",
    }
)

COCO_TO_CLASS: Mapping[str, str] = MappingProxyType(
    {
        "person": PERSON,
        **{n: VEHICLE for n in ("bicycle", "car", "motorcycle", "bus", "truck", "train", "boat")},
        **{
            n: ANIMAL
            for n in (
                "bird", "cat", "dog", "horse", "sheep", "cow",
                "elephant", "bear", "zebra", "giraffe",
            )
        },
    }
)  # fmt: skip

# Opt-in preset for cameras that look straight down (drones, gantries, parking
# cameras): COCO was trained on side views, and both Yolo-Fastest models label a car
# seen from above as "cell phone" with high confidence (never "car"). Motion gating
# makes the alias tolerable: only *moving* car-sized blobs reach the detector.
OVERHEAD_CLASS_MAP: Mapping[str, str] = MappingProxyType(
    {**COCO_TO_CLASS, "cell phone": VEHICLE, "remote": VEHICLE}
)


def canonical_name(name: str) -> str:
    """Lower-case, trim and fold legacy Darknet spellings into COCO-2017 names."""
    key = " ".join(name.strip().lower().split())
    return _ALIASES.get(key, key)


def borderwatch_class(name: str, class_map: Mapping[str, str] = COCO_TO_CLASS) -> str | None:
    """The borderwatch class of detector class ``name``, or None to drop it."""
    return class_map.get(canonical_name(name))


def class_table(
    names: Sequence[str], class_map: Mapping[str, str] = COCO_TO_CLASS
) -> list[int]:
    """For each detector class id, the index into :data:`CLASSES`, or -1 to drop.

    Built once per model so decoding maps ids with one array lookup per frame.
    """
    return [
        CLASSES.index(c) if (c := borderwatch_class(n, class_map)) is not None else -1
        for n in names
    ]
