"""What the values of a mask mean: the class-count rule, and a dataset's description.

**The class-count rule, stated once.** `num_classes` everywhere in fcnlib (models, losses, metrics,
configs, the CLI's `--num-classes`) is the number of output channels of the model: 1 is a binary task
(one sigmoid channel: background 0, object 1), K >= 2 a K-class softmax. The masks of a task hold
`num_labels(num_classes)` label values, 0 .. n-1, plus optionally one `ignore_index` value (void: CamVid's
11, Pascal VOC's 255) that no loss trains on and no metric scores.

**A dataset description** (`DatasetInfo`): class names, their colours and the ignore index, read from a
small YAML file (`dataset.yaml` beside a pairs file, or any path given in a config as `data.dataset`):

```yaml
classes:                     # in label order: 0, 1, ...
  - {name: sky, color: [128, 128, 128]}
  - {name: building, color: [128, 0, 0]}
ignore_index: 11             # optional
ignore_name: void            # optional, default "void"
ignore_color: [0, 0, 0]      # optional, default black
```

Example:

>>> num_labels(1), num_labels(2), num_labels(11)
(2, 2, 11)
>>> info = DatasetInfo(class_names=("background", "receipt"))
>>> info.num_classes, info.colors is None
(1, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATASET_FILE = "dataset.yaml"
DEFAULT_IGNORE_COLOR = (0, 0, 0)


def num_labels(num_classes: int) -> int:
    """Label values a mask of a `num_classes`-channel model holds (void aside): 2 for a binary model."""
    n = int(num_classes)
    if n < 1:
        raise ValueError(f"num_classes must be >= 1 (1 = binary), got {num_classes}")
    return max(n, 2)


def check_ignore_index(ignore_index, num_classes: int) -> int | None:
    """`ignore_index` as an int, or None; it must be 0..255 and not one of the task's labels."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index must be an integer 0..255 or null, got {ignore_index!r}")
    if not 0 <= ignore_index <= 255:
        raise ValueError(f"ignore_index must be 0..255 (a mask value), got {ignore_index}")
    if ignore_index < num_labels(num_classes):
        raise ValueError(f"ignore_index {ignore_index} is one of the {num_labels(num_classes)} class labels "
                         f"(0..{num_labels(num_classes) - 1}); void needs a value of its own")
    return ignore_index


def _color(value, where: str) -> tuple[int, int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(v, int) and 0 <= v <= 255 for v in value)):
        raise ValueError(f"{where}: colour must be three integers 0..255 (RGB), got {value!r}")
    return tuple(int(v) for v in value)


@dataclass(frozen=True)
class DatasetInfo:
    """Class names (label order), optional RGB colours, and the optional void value of a dataset."""

    class_names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...] | None = None
    ignore_index: int | None = None
    ignore_name: str = "void"
    ignore_color: tuple[int, int, int] = DEFAULT_IGNORE_COLOR

    def __post_init__(self):
        if len(self.class_names) < 2:
            raise ValueError(f"a dataset needs at least 2 classes (background included), got {self.class_names}")
        if self.colors is not None and len(self.colors) != len(self.class_names):
            raise ValueError(f"{len(self.colors)} colours for {len(self.class_names)} classes")
        check_ignore_index(self.ignore_index, len(self.class_names))

    @property
    def num_classes(self) -> int:
        """Output channels of a model for this dataset (1 for two classes: the binary rule)."""
        n = len(self.class_names)
        return 1 if n == 2 else n

    @classmethod
    def from_dict(cls, d: dict, where: str = "dataset description") -> "DatasetInfo":
        if not isinstance(d, dict) or "classes" not in d:
            raise ValueError(f"{where}: expected a mapping with a 'classes' list")
        unknown = set(d) - {"classes", "ignore_index", "ignore_name", "ignore_color"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        names, colors = [], []
        for i, c in enumerate(d["classes"]):
            if isinstance(c, str):
                names.append(c)
                colors.append(None)
            elif isinstance(c, dict) and "name" in c:
                names.append(str(c["name"]))
                colors.append(_color(c["color"], f"{where}: class {i}") if "color" in c else None)
            else:
                raise ValueError(f"{where}: class {i} must be a name or {{name, color}}, got {c!r}")
        if any(c is None for c in colors) and not all(c is None for c in colors):
            raise ValueError(f"{where}: give a colour for every class or for none")
        try:
            return cls(class_names=tuple(names),
                       colors=None if colors[0] is None else tuple(colors),
                       ignore_index=d.get("ignore_index"),
                       ignore_name=str(d.get("ignore_name", "void")),
                       ignore_color=_color(d.get("ignore_color", list(DEFAULT_IGNORE_COLOR)), where))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None

    @classmethod
    def load(cls, path) -> "DatasetInfo":
        """Read a dataset description YAML file; errors name the file."""
        import yaml

        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: dataset description not found") from None
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML: {e}") from None
        return cls.from_dict(raw, where=str(path))

    @classmethod
    def beside(cls, pairs_file) -> "DatasetInfo | None":
        """The `dataset.yaml` in the folder of a pairs file, or None when there is none."""
        path = Path(pairs_file).parent / DATASET_FILE
        return cls.load(path) if path.is_file() else None

    def to_dict(self) -> dict:
        classes = [{"name": n} if self.colors is None else {"name": n, "color": list(c)}
                   for n, c in zip(self.class_names, self.colors or [None] * len(self.class_names))]
        d = {"classes": classes}
        if self.ignore_index is not None:
            d.update(ignore_index=self.ignore_index, ignore_name=self.ignore_name,
                     ignore_color=list(self.ignore_color))
        return d
