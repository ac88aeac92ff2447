"""`autodiff.nn`: the `nn` package under the autodiff name.

`from autodiff.nn import MLP` and `from nn import MLP` give the very same objects. The
longer spelling says where `nn` comes from, which helps because `nn` is a common name: a
learner's own `nn.py`, or another distribution's top-level `nn` (PyPI has one), would be
found by `import nn` first. This module checks that the `nn` it finds is the one installed
beside autodiff and refuses a stranger, instead of handing out someone else's classes.
"""

from pathlib import Path

import nn as _nn

_here = Path(__file__).resolve().parent.parent
_found = getattr(_nn, "__file__", None)
if _found is None or Path(_found).resolve().parent.parent != _here:
    raise ImportError(
        f"autodiff.nn expected the nn package installed beside autodiff (in {_here}), "
        f"but `import nn` found {_found or 'a namespace package'}; rename or remove that "
        "nn module (a file nn.py in the current folder is a common cause)"
    )

from nn import *  # noqa: E402, F403  (re-export exactly nn's public names)
from nn import __all__ as __all__  # noqa: E402
