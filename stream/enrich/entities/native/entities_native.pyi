# The compiled core's interface (src/lib.rs), for mypy.
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

class Chain:
    def __init__(
        self,
        transitions: Sequence[Sequence[float]],
        ends: tuple[Sequence[float], Sequence[float]],
        breaks: tuple[Sequence[float], Sequence[float]],
        gazetteer: Sequence[Sequence[Sequence[float]]],
    ) -> None: ...
    def tag(
        self,
        table: npt.NDArray[np.float64],
        rows: Sequence[int],
        breaks: Sequence[bool],
        matches: Sequence[tuple[int, int, int]],
    ) -> list[int]: ...
