# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Packaging: the collection builds, every plugin's documentation renders, the execution environment gets its dependencies."""
from __future__ import annotations

import pathlib
import subprocess
import sys
import tarfile

import pytest

from collection_tree import COLLECTIONS_PATH, REPO_ROOT

BIN = pathlib.Path(sys.executable).parent
PLUGINS = [
    ("module", "pve_lxc_action"), ("module", "pve_lxc_exec"), ("module", "pve_lxc_info"), ("module", "pve_lxc_stats"),
    ("module", "pve_node_logs"), ("inventory", "pve"), ("lookup", "pve_resource"), ("lookup", "pve_node"),
]


def run(*argv: str, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH), "HOME": str(cwd or REPO_ROOT)}
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(("kind", "name"), PLUGINS)
def test_ansible_doc_renders(kind: str, name: str, tmp_path: pathlib.Path) -> None:
    done = run("ansible-doc", "-t", kind, f"pveops.proxmox.{name}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "api_url" in done.stdout and "EXAMPLES" in done.stdout.upper()


def test_every_plugin_is_listed() -> None:
    kinds = {"modules": "module", "inventory": "inventory", "lookup": "lookup"}
    found = {(kind, path.stem) for folder, kind in kinds.items() for path in (REPO_ROOT / "plugins" / folder).glob("*.py")}
    assert found == set(PLUGINS)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    output = tmp_path_factory.mktemp("build")
    done = run("ansible-galaxy", "collection", "build", str(REPO_ROOT), "--output-path", str(output), cwd=output)
    assert done.returncode == 0, done.stderr
    (path,) = output.glob("pveops-proxmox-*.tar.gz")
    return path


def test_collection_builds_without_test_output(tarball: pathlib.Path) -> None:
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "plugins/modules/pve_lxc_exec.py" in names and "meta/execution-environment.yml" in names
    assert not any(name.startswith(("tests/output", ".venv", "tests/benchmarks")) for name in names)


def test_execution_environment_build_context(tarball: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """ansible-builder (no container engine needed) finds the collection's Python dependencies."""
    introspected = run("ansible-builder", "introspect", "--sanitize", str(COLLECTIONS_PATH), cwd=tmp_path)
    assert introspected.returncode == 0, introspected.stderr
    assert "requests>=2.28" in introspected.stdout and "websocket-client>=1.6" in introspected.stdout
    (tmp_path / "requirements.yml").write_text(f"---\ncollections:\n  - name: {tarball}\n    type: file\n")
    (tmp_path / "execution-environment.yml").write_text(
        "---\nversion: 3\nimages:\n  base_image:\n    name: quay.io/ansible/awx-ee:latest\n"
        "dependencies:\n  galaxy: requirements.yml\n  ansible_core:\n    package_pip: ansible-core==2.19.14\n"
        "  ansible_runner:\n    package_pip: ansible-runner\n"
    )
    created = run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context",
                  "--output-filename", "Containerfile", cwd=tmp_path)
    assert created.returncode == 0, created.stderr + created.stdout
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    # The galaxy stage installs the collection; the builder stage introspects its
    # meta/execution-environment.yml and pip-installs what it lists.
    assert "ansible-galaxy collection install" in containerfile or "install-from-bindep" in containerfile
    assert "introspect" in containerfile
    assert (tmp_path / "context" / "_build" / "requirements.yml").exists()


def test_reference_docs_are_current(tmp_path: pathlib.Path) -> None:
    """docs/reference is generated from the code's documentation and must not drift from it (`make docs`)."""
    done = subprocess.run([str(REPO_ROOT / "tests" / "tools" / "build-docs.sh"), str(tmp_path / "reference")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    generated = {path.name: path.read_text() for path in (tmp_path / "reference").glob("*.rst")}
    committed = {path.name: path.read_text() for path in (REPO_ROOT / "docs" / "reference").glob("*.rst")}
    assert generated == committed, "docs/reference is out of date: run `make docs`"
