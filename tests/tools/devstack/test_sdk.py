"""Prerequisite discovery names each missing piece and how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.sdk import MissingPrerequisiteError, find_jars, find_sdk_root


def _fake_sdk(root: Path, *, firestore: bool, pubsub: list[str]) -> Path:
    (root / "platform" / "cloud-firestore-emulator").mkdir(parents=True)
    if firestore:
        (root / "platform" / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar").touch()
    lib = root / "platform" / "pubsub-emulator" / "lib"
    lib.mkdir(parents=True)
    for name in pubsub:
        (lib / name).touch()
    return root


def test_sdk_root_from_environment(tmp_path: Path) -> None:
    root = _fake_sdk(tmp_path, firestore=True, pubsub=[])

    assert find_sdk_root({"CLOUDSDK_ROOT_DIR": str(root)}) == root


def test_sdk_root_without_gcloud_says_what_to_install() -> None:
    with pytest.raises(MissingPrerequisiteError, match="gcloud CLI not found"):
        find_sdk_root({"PATH": ""})


def test_missing_jars_are_each_named_with_an_install_hint(tmp_path: Path) -> None:
    root = _fake_sdk(tmp_path, firestore=False, pubsub=[])

    with pytest.raises(MissingPrerequisiteError) as caught:
        find_jars({"CLOUDSDK_ROOT_DIR": str(root)})

    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert "cloud-firestore-emulator" in lines[0]
    assert "pubsub-emulator" in lines[1]


def test_newest_pubsub_jar_is_chosen(tmp_path: Path) -> None:
    names = ["cloud-pubsub-emulator-0.8.9-all.jar", "cloud-pubsub-emulator-0.8.20-all.jar"]
    root = _fake_sdk(tmp_path, firestore=True, pubsub=names)

    jars = find_jars({"CLOUDSDK_ROOT_DIR": str(root)})

    assert jars.pubsub.name == "cloud-pubsub-emulator-0.8.20-all.jar"
