# The compiled core's interface (src/lib.rs, names.rs, words.rs, triggers.rs, clitics.rs), for mypy.
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

class Chain:
    def __init__(
        self,
        transitions: Sequence[Sequence[float]],
        ends: tuple[Sequence[float], Sequence[float]],
        breaks: tuple[Sequence[float], Sequence[float]],
        gazetteer: Sequence[tuple[str, Sequence[Sequence[float]]]],
    ) -> None: ...
    def tag(
        self,
        table: npt.NDArray[np.float64],
        rows: Sequence[int],
        breaks: Sequence[bool],
        matches: Sequence[tuple[int, int, int]],
    ) -> list[int]: ...
    def scan_tag(
        self,
        names: Names,
        table: npt.NDArray[np.float64],
        norms: Sequence[str],
        rows: Sequence[int],
        breaks: Sequence[bool],
    ) -> tuple[list[tuple[int, int, int, int, str]], list[int]]: ...

class Names:
    def __init__(self, keys: Sequence[tuple[Sequence[str], int]], kinds: Sequence[str]) -> None: ...
    def scan(
        self, norms: Sequence[str], breaks: Sequence[bool]
    ) -> list[tuple[int, int, int, int, str]]: ...

class Scorer:
    def __init__(
        self,
        weights: npt.NDArray[np.float64],
        index: Mapping[str, int],
        clusters: Mapping[str, tuple[str, str, str]],
        word_types: Mapping[str, Sequence[str]],
        triggers: Triggers,
    ) -> None: ...
    def fill(
        self,
        table: npt.NDArray[np.float64],
        first: int,
        words: Sequence[str],
    ) -> None: ...

class Triggers:
    def __init__(
        self, classes: Sequence[tuple[str, Sequence[str]]], titles: str, possessives: Sequence[str]
    ) -> None: ...
    def classes(self, norm: str) -> tuple[str, ...]: ...

def clitic_variants(token: str) -> tuple[str, ...]: ...
def word_shape(norm: str) -> str: ...
