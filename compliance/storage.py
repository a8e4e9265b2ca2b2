from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """KYC files: under PRIVATE_MEDIA_ROOT (read on every use, so a changed setting applies), never at a URL.

    A view checks who asks and streams the file; there is no base URL to guess.
    """

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("KYC files have no URL; stream them through the document view")

    def deconstruct(self) -> tuple[str, tuple[object, ...], dict[str, object]]:
        return ("compliance.storage.PrivateStorage", (), {})
