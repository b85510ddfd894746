"""The torch requirement a project declares: every source read statically, hostile files survived."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from nnlint import dependencies
from nnlint.dependencies import MAX_BYTES, project_files, requirements_files
from nnlint.torch_requirement import TorchRequirements, lowest_version


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _torch(root: Path, linted: str = "train.py") -> tuple[str | None, str, str] | None:
    found = TorchRequirements().for_file(str(root / linted))
    return (found.lower_bound, found.text, found.source) if found is not None else None


@pytest.mark.parametrize("specifier, requires_2_6", [
    (">=2.6", True), ("==2.7.1", True), ("~=2.6", True), (">2.6.0", True), ("==2.6.*", True),
    ("==2.7.1+cu121", True), (">=2.6,<3", True), (">=2.0", False), (">2.5", False), ("==2.*", False),
    ("~=2.5", False), ("<3", False), ("!=2.5", False), ("", False), (">=2.6.0rc1", False),
])
def test_the_lower_bound_decides_whether_every_admitted_version_is_at_least_2_6(
        specifier: str, requires_2_6: bool) -> None:
    lowest = lowest_version(SpecifierSet(specifier))
    assert (lowest is not None and lowest >= Version("2.6")) == requires_2_6


def test_requirements_txt_as_pip_reads_it(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "requirements.txt": "# pinned for the cluster\n--index-url https://download.pytorch.org/whl/cu121\n"
                            "-e .\ntorch==2.7.1 \\\n    --hash=sha256:0123  # the build we test\n"
                            "-r requirements-data.txt\n--requirement=requirements.txt\n",
        "requirements-data.txt": "numpy>=1.26; python_version >= '3.10'\nnot a requirement !!\n",
    })
    declared = [(d.name, str(d.specifier), d.source) for d in requirements_files(root, root)]
    assert declared == [("numpy", ">=1.26", "requirements-data.txt"), ("torch", "==2.7.1", "requirements.txt")]


def test_includes_outside_the_project_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "requirements-outside.txt").write_text("torch>=2.6\n")
    root = _project(tmp_path, {"requirements.txt": "-r ../requirements-outside.txt\n-r /etc/hostname\n"})
    assert requirements_files(root, root) == []


def test_pyproject_project_and_poetry_tables(tmp_path: Path) -> None:
    root = _project(tmp_path, {"pyproject.toml": """
[project]
dependencies = ["torch>=2.6", "numpy"]
[project.optional-dependencies]
cpu = ["torch==2.7.1"]
[tool.poetry.dependencies]
python = "^3.10"
torch = "^2.6"
torchvision = {version = "~0.21", optional = true}
torchaudio = [{version = "2.6.0", python = ">=3.10"}, {git = "https://github.com/pytorch/audio"}]
triton = "^2.3 || >=3.1"
"""})
    declared = [(d.name, str(d.specifier), d.text) for d in project_files(root)]
    assert declared == [
        ("torch", ">=2.6", "torch>=2.6"), ("numpy", "", "numpy"), ("torch", "==2.7.1", "torch==2.7.1"),
        ("python", ">=3.10", "python ^3.10"), ("torch", ">=2.6", "torch ^2.6"),
        ("torchvision", ">=0.21", "torchvision ~0.21"), ("torchaudio", "==2.6.0", "torchaudio 2.6.0"),
        ("torchaudio", "", "torchaudio *"), ("triton", ">=2.3", "triton ^2.3"), ("triton", ">=3.1", "triton >=3.1"),
    ]


def test_setup_cfg_and_setup_py_are_read_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "setup-py-ran"
    root = _project(tmp_path, {
        "setup.cfg": "[metadata]\nname = x\n[options]\ninstall_requires =\n    torch>=2.6\n    numpy\n"
                     "[options.extras_require]\nold = torch>=1.13\n",
        "setup.py": f"from pathlib import Path\nPath({str(marker)!r}).touch()\nimport setuptools\n"
                    "DEPS = ['torch>=2.0']\nsetuptools.setup(install_requires=['torch~=2.7', 'pillow'],\n"
                    "                 extras_require={'dev': ['pytest']})\nsetup(install_requires=DEPS)\n",
    })
    declared = [(d.name, str(d.specifier), d.source) for d in project_files(root)]
    assert declared == [("torch", ">=2.6", "setup.cfg"), ("numpy", "", "setup.cfg"), ("torch", ">=1.13", "setup.cfg"),
                        ("torch", "~=2.7", "setup.py"), ("pillow", "", "setup.py"), ("pytest", "", "setup.py")]
    assert not marker.exists()


@pytest.mark.parametrize("name, content", [
    ("pyproject.toml", "[project\ndependencies = ["),
    ("pyproject.toml", "[project]\ndependencies = 'torch>=2.6'\noptional-dependencies = [1]\n[tool]\npoetry = 3\n"),
    ("pyproject.toml", "x = " + "[" * 5000 + "]" * 5000),
    ("setup.cfg", "no section\n[options\ninstall_requires = torch>=2.6"),
    ("setup.py", "setup(install_requires=[" + "(" * 5000 + "]"),
    ("setup.py", "\0binary"),
    ("requirements.txt", "\udcff\udcfe torch>=2.6 ==="),
])
def test_malformed_files_declare_nothing(tmp_path: Path, name: str, content: str) -> None:
    root = _project(tmp_path, {})
    (root / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    assert _torch(root) is None


def test_only_small_regular_files_inside_the_project_are_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("torch>=2.6\n")
    root = _project(tmp_path, {"requirements-big.txt": "torch>=2.6\n" + "#" * MAX_BYTES})
    (root / "requirements.txt").mkdir()
    (root / "requirements-link.txt").symlink_to(tmp_path / "secret.txt")
    os.mkfifo(root / "requirements-fifo.txt")
    assert _torch(root) is None


def test_the_walk_stops_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("torch>=1.13\n")
    root = _project(tmp_path, {"requirements.txt": "torch>=2.6\n", "examples/mnist/train.py": ""})
    assert _torch(root, "examples/mnist/train.py") == ("2.6", "torch>=2.6", "requirements.txt")


def test_the_weakest_requirement_on_the_way_to_the_root_decides(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "pyproject.toml": "[project]\ndependencies = ['torch>=2.6']\n",
        "examples/legacy/requirements.txt": "torch==1.13.1\n",
        "examples/new/requirements.txt": "torch==2.7.1\n",
    })
    assert _torch(root, "examples/legacy/train.py") == ("1.13.1", "torch==1.13.1", "examples/legacy/requirements.txt")
    assert _torch(root, "examples/new/train.py") == ("2.6", "torch>=2.6", "pyproject.toml")
    assert _torch(root, "train.py") == ("2.6", "torch>=2.6", "pyproject.toml")


def test_an_unbounded_requirement_admits_every_version(tmp_path: Path) -> None:
    root = _project(tmp_path, {"requirements.txt": "torch>=2.6\n", "requirements-dev.txt": "torch\n"})
    assert _torch(root) == (None, "torch", "requirements-dev.txt")


def test_each_folder_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, {"requirements.txt": "torch>=2.6\n", "pyproject.toml": "[project]\nname = 'x'\n"})
    reads: list[str] = []
    real = dependencies.read_text

    def counting(path: Path, project_root: Path) -> str | None:
        reads.append(Path(path).name)
        return real(path, project_root)

    monkeypatch.setattr(dependencies, "read_text", counting)
    requirements = TorchRequirements()
    found = {requirements.for_file(str(root / name)) for name in ("a.py", "b.py", "src/c.py", "src/d.py")}
    assert len(found) == 1
    assert sorted(reads) == ["pyproject.toml", "requirements.txt", "setup.cfg", "setup.py"]
