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


def test_the_tarball_carries_the_simulator_and_the_demo_and_nothing_else_of_the_tests(tarball: pathlib.Path) -> None:
    """A decision (galaxy.yml build_ignore, README): users get what the demo needs, not the test suites or developer tooling."""
    with tarfile.open(tarball) as archive:
        files = [member.name for member in archive.getmembers() if member.isfile()]
    tests = sorted({name.split("/", 2)[1] if name.count("/") > 1 else name for name in files if name.startswith("tests/")})
    assert tests == ["demo", "pvesim", "tools"], tests
    assert [name for name in files if name.startswith("tests/tools/")] == ["tests/tools/collection_tree.py"]
    assert "tests/pvesim/scenarios/default.json" in files and "tests/demo/run_demo.py" in files
    developer_only = ("Makefile", "requirements-dev.txt", ".ansible-lint", ".ci/", "changelogs/fragments/")
    assert not [name for name in files if name.startswith(developer_only)]
    caches = ("__pycache__", ".pytest_cache", ".mypy_cache", ".hypothesis")
    assert not [name for name in files if any(part in caches for part in name.split("/"))]


@pytest.mark.slow
def test_the_demo_runs_from_the_installed_tarball(tarball: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """What the tarball ships for the demo is enough: install it, then run tests/demo/run_demo.py from the installed copy."""
    installed = run("ansible-galaxy", "collection", "install", "--force", str(tarball), "-p", str(tmp_path / "collections"), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    demo = tmp_path / "collections" / "ansible_collections" / "pveops" / "proxmox" / "tests" / "demo" / "run_demo.py"
    done = subprocess.run([sys.executable, str(demo)], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "failed=0" in done.stdout


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
