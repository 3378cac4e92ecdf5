"""ganlib/__init__.py's module map lists every module of the package, and nothing that is gone."""
import re

from ganlib import config

import ganlib


def test_module_map_lists_every_module():
    on_disk = {p.stem for p in config.PACKAGE_DIR.glob("*.py") if not p.stem.startswith("_")}
    on_disk |= {p.name for p in config.PACKAGE_DIR.iterdir() if (p / "__init__.py").exists()}
    block = ganlib.__doc__.split("Modules (one concept each):")[1]
    listed = set(re.findall(r"^    (\w+)\s", block, flags=re.M))
    assert listed == on_disk, f"missing from the map: {on_disk - listed}; listed but absent: {listed - on_disk}"
