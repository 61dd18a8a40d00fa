"""`unsup3d.schema`: settings fields checked on construction, whether from YAML or from code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from unsup3d.schema import SettingError, Settings, as_dict, as_yaml, field_doc, setting


@dataclass(frozen=True)
class Toy(Settings):
    rate: float = setting(0.5, "a rate", lo=0.0, hi=1.0, lo_open=True)
    count: int = setting(2, "a count", lo=0)
    kind: Literal["a", "b"] = setting("a", "a kind")
    sizes: list[int] = setting([1, 2], "sizes")
    limit: float | None = setting(None, "an optional limit", lo=0.0)

    def validate(self) -> None:
        if self.limit is not None and self.limit < self.count:
            raise SettingError("limit", f"{self.limit} must be >= 'count'", related=("count",))


def test_defaults_docs_and_coercion():
    t = Toy(rate=1)  # an int is accepted for a float
    assert t.rate == 1.0 and isinstance(t.rate, float)
    assert Toy().sizes == [1, 2] and Toy().sizes is not Toy().sizes  # a copy per instance
    from dataclasses import fields

    assert [field_doc(f) for f in fields(Toy)][:2] == ["a rate", "a count"]
    assert as_dict(Toy()) == {"rate": 0.5, "count": 2, "kind": "a", "sizes": [1, 2], "limit": None}
    assert as_yaml(Toy()).startswith("rate: 0.5\ncount: 2\n")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0.0}, "'rate': 0.0 is out of range; must be > 0.0"),
        ({"rate": 1.5}, "'rate': 1.5 is out of range; must be <= 1.0"),
        ({"count": -1}, "'count': -1 is out of range; must be >= 0"),
        ({"count": True}, "'count': expected an integer, got bool True"),
        ({"kind": "c"}, "'kind': 'c' is not one of 'a', 'b'"),
        ({"sizes": [1, "x"]}, "'sizes[1]': expected an integer, got str 'x'"),
        ({"sizes": 3}, "'sizes': expected a list, got int 3"),
        ({"rate": "fast"}, "'rate': expected a number, got str 'fast'"),
        ({"limit": 1.0}, "'limit': 1.0 must be >= 'count'"),
    ],
)
def test_bad_values_name_the_field(kwargs, message):
    with pytest.raises(SettingError) as exc:
        Toy(**kwargs)
    assert str(exc.value) == message
    assert message.startswith(f"'{exc.value.key}'")


def test_frozen():
    with pytest.raises(AttributeError):
        Toy().rate = 0.1  # type: ignore[misc]
