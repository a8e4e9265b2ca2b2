"""An OCF package: a manifest and the files it lists, read from a zip (or a folder's files) and written to a zip.

Reading never touches the disk: the zip is read in memory, with limits on its size and number of files so that
an upload cannot exhaust the server. Only the files the manifest lists are read as the package; others are noted
and ignored. The manifest's md5 values are written on export and not enforced on import (the official sample's
do not match its own files).
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from equity.ocf.validation import MANIFEST_FILE_TYPE, file_errors

MAX_FILES = 200
MAX_BYTES = 50 * 1024 * 1024  # uncompressed, all files together
MANIFEST_NAME = "Manifest.ocf.json"
# Files beside the manifest that OCF does not define and Tranche reads back: the company's tokens
# (`tokens.ocf_sidecar`). Not listed in the manifest, so other OCF tools ignore them.
EXTENSIONS = ("tranche-tokens.json",)

# The manifest's lists of files, and the file type each must have.
FILE_LISTS: dict[str, str] = {
    "stakeholders_files": "OCF_STAKEHOLDERS_FILE",
    "stock_classes_files": "OCF_STOCK_CLASSES_FILE",
    "stock_plans_files": "OCF_STOCK_PLANS_FILE",
    "vesting_terms_files": "OCF_VESTING_TERMS_FILE",
    "transactions_files": "OCF_TRANSACTIONS_FILE",
    "stock_legend_templates_files": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
    "valuations_files": "OCF_VALUATIONS_FILE",
    "financings_files": "OCF_FINANCINGS_FILE",
    "documents_files": "OCF_DOCUMENTS_FILE",
}


class PackageInvalid(Exception):
    """The package cannot be read or does not validate; `errors` says where and why, one message each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Package:
    manifest: dict[str, Any]
    files: dict[str, dict[str, Any]]  # path (as the manifest names it, normalised) -> parsed OCF file
    ignored: list[str] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)  # EXTENSIONS found beside the manifest, parsed

    def items(self, file_type: str) -> list[tuple[str, dict[str, Any]]]:
        """(file name, item) of every item in the files of one type, in manifest and file order."""
        return [(name, item) for name, document in self.files.items() if document.get("file_type") == file_type
                for item in document.get("items", [])]


def _normalise(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def read_zip(data: bytes) -> dict[str, bytes]:
    """The files of a zip, by path. Refuses what is not a zip, too many files, or too many bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise PackageInvalid(["The upload is not a zip file (an OCF package is a zip of .ocf.json files)."]) from error
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > MAX_FILES:
            raise PackageInvalid([f"The zip holds {len(members)} files; an OCF package may hold {MAX_FILES}."])
        if sum(info.file_size for info in members) > MAX_BYTES:
            raise PackageInvalid([f"The zip unpacks to more than {MAX_BYTES // (1024 * 1024)} MB."])
        files: dict[str, bytes] = {}
        for info in members:
            with archive.open(info) as member:
                content = member.read(MAX_BYTES + 1)
            if len(content) > MAX_BYTES:
                raise PackageInvalid([f"{info.filename} is larger than it claims."])
            files[_normalise(info.filename)] = content
        return files


def _parse(name: str, content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise PackageInvalid([f"{name} is not UTF-8 text."]) from error
    except json.JSONDecodeError as error:
        raise PackageInvalid([f"{name} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."]) \
            from error


def load(files: Mapping[str, bytes]) -> Package:
    """Find the manifest among `files` (path -> bytes), read the files it lists and validate them all.

    Raises PackageInvalid with every error found, each naming the file, and for items the id and field.
    """
    json_files = {_normalise(name): content for name, content in files.items() if name.lower().endswith(".json")}
    manifests = []
    for name, content in json_files.items():
        if b"OCF_MANIFEST_FILE" in content:
            document = _parse(name, content)
            if isinstance(document, dict) and document.get("file_type") == MANIFEST_FILE_TYPE:
                manifests.append((name, document))
    if len(manifests) != 1:
        found = ", ".join(name for name, _ in manifests)
        raise PackageInvalid([
            "The package has no OCF manifest (a file with \"file_type\": \"OCF_MANIFEST_FILE\")." if not manifests
            else f"The package has {len(manifests)} manifests ({found}); it must have exactly one."])
    manifest_name, manifest = manifests[0]
    errors = file_errors(manifest_name, manifest)
    if errors:
        raise PackageInvalid(errors)
    base = posixpath.dirname(manifest_name)
    package = Package(manifest=manifest, files={})
    for list_name, file_type in FILE_LISTS.items():
        for entry in manifest.get(list_name, []):
            path = _normalise(posixpath.join(base, entry["filepath"]))
            if path not in json_files:
                errors.append(f"{manifest_name}, field {list_name}: the listed file {entry['filepath']} is not in "
                              "the package.")
                continue
            document = _parse(path, json_files[path])
            found_errors = file_errors(posixpath.basename(path), document)
            if not found_errors and document.get("file_type") != file_type:
                found_errors = [f"{posixpath.basename(path)}, field file_type: the manifest lists it in {list_name}, "
                                f"so it must be an {file_type}, not {document.get('file_type')}."]
            errors += found_errors
            package.files[path] = document
    if errors:
        raise PackageInvalid(errors)
    extensions = {_normalise(posixpath.join(base, name)): name for name in EXTENSIONS}
    package.extensions = {extensions[path]: _parse(path, json_files[path]) for path in extensions if path in json_files}
    package.ignored = sorted(name for name in json_files
                             if name not in package.files and name != manifest_name and name not in extensions)
    return package


def write_zip(files: Mapping[str, dict[str, Any]], folder: str) -> bytes:
    """A zip of the OCF files in `folder/`; the manifest records each file's md5."""
    encoded = {name: (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
               for name, document in files.items() if name != MANIFEST_NAME}
    manifest = dict(files[MANIFEST_NAME])
    for list_name in FILE_LISTS:
        if list_name in manifest:
            manifest[list_name] = [{**entry, "md5": hashlib.md5(encoded[posixpath.basename(entry["filepath"])],
                                                                 usedforsecurity=False).hexdigest()}
                                   for entry in manifest[list_name]]
    encoded[MANIFEST_NAME] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in [MANIFEST_NAME, *sorted(n for n in encoded if n != MANIFEST_NAME)]:
            archive.writestr(f"{folder}/{name}", encoded[name])
    return buffer.getvalue()
