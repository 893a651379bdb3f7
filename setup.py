"""The one build step pyproject.toml cannot say: compile the interface's message catalogs
(labguide/locale/LANG/LC_MESSAGES/labguide.po -> .mo) with babel, a build dependency.

A wheel gets the .mo files in its build folder; an editable install (PEP 660, setup.sh's
`pip install -e`) gets them beside the .po files in the source tree, where the editable
finder reads the package from (they are not committed: .gitignore). labguide itself only
reads .mo files, with the standard library's gettext. `scripts/i18n.py` extracts, updates
and checks the catalogs; it compiles them with the function below.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build import build

ROOT = Path(__file__).resolve().parent
LOCALE = Path("labguide") / "locale"


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    """Each LANG/LC_MESSAGES/*.po under `source` as a .mo at the same place under `target`."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo)
    return written


class BuildCatalogs(Command):
    """`build` sub-command: the .mo files, in the build folder or (editable) in place."""

    description = "compile the message catalogs (.po -> .mo)"
    user_options: list[tuple[str, str | None, str]] = []
    editable_mode = False

    def initialize_options(self) -> None:
        self.build_lib: str | None = None

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def target(self) -> Path:
        return ROOT / LOCALE if self.editable_mode else Path(self.build_lib or "build") / LOCALE

    def run(self) -> None:
        compile_catalogs(ROOT / LOCALE, self.target())

    def get_source_files(self) -> list[str]:
        return [str(p.relative_to(ROOT)) for p in (ROOT / LOCALE).glob("*/LC_MESSAGES/*.po")]

    def get_outputs(self) -> list[str]:
        return [str(self.target() / Path(p).relative_to(LOCALE).with_suffix(".mo"))
                for p in self.get_source_files()]

    def get_output_mapping(self) -> dict[str, str]:
        return {}  # nothing to link: compiled files, written where they are read from


class Build(build):
    # after build_py: a .mo left in the source tree by an editable install is never the one
    # a wheel carries
    sub_commands = [*build.sub_commands, ("build_catalogs", None)]


if __name__ == "__main__":
    setup(cmdclass={"build": Build, "build_catalogs": BuildCatalogs})
