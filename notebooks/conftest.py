"""pytest (nbval) settings for the notebooks: those that need a shared data set skip where it is absent."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    """Notebook 05 needs CamVid: where ../shared/data/camvid is absent, its cells skip with the reason."""
    from fcnlib import shared_data

    if shared_data.camvid() is not None:
        return
    skip = pytest.mark.skip(reason=shared_data.missing_reason("CamVid (needed by notebooks/05_camvid.ipynb)"))
    for item in items:
        if "05_camvid" in str(item.path):
            item.add_marker(skip)
