"""Process-wide settings of the engine: its thread count, as igx's --threads sets it."""

import warnings

from . import _C


def set_num_threads(threads: int = 0, force: bool = False) -> int:
    """Sets LibTorch's and OpenBLAS's thread counts, as ``igx --threads`` does (torch.set_num_threads
    leaves OpenBLAS's pool at one thread per core); 0 = all cores. More threads than the cores this
    process may use are capped at the cores with a warning, as the CLI does, unless ``force=True``:
    they only slow igx down. Returns the count in force."""
    in_force = _C.set_num_threads(threads, force)
    cores = _C.available_cores()
    if threads > cores and not force:
        warnings.warn(f"igx.set_num_threads({threads}) is more than the {cores} cores here; using {in_force} "
                      "(more threads than cores only slow igx down; force=True runs them anyway)", stacklevel=2)
    return in_force
