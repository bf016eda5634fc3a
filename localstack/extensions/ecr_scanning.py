"""PutImageScanningConfiguration turning scan on push off, for moto server 5.2.5.

`scanOnPush` defaults to false, so the AWS SDKs leave it out of a request that turns it
off: the body holds `"imageScanningConfiguration": {}`, which AWS takes as scan on push off.
moto keeps the old setting for an empty configuration. This applies it as AWS does.
"""

from __future__ import annotations

from typing import Any

from moto.ecr.models import Repository


def install() -> None:
    def update_scanning(self: Repository, image_scanning_configuration: Any = None) -> None:
        if image_scanning_configuration is not None:
            scan = bool(image_scanning_configuration.get("scanOnPush", False))
            self.image_scanning_configuration = {"scanOnPush": scan}

    Repository._update_image_scanning_configuration = update_scanning  # type: ignore[method-assign]
