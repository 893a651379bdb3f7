"""Reports of `--check` and `--check --drill`, from their data (CheckReport, DrillReport), as
a table, JSON or JUnit XML. Writers only: nothing here runs a check or parses text back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, TextIO

from labguide.i18n import gettext as _
from labguide.report import drift, junit, table
from labguide.report.data import check_as_dict, drill_as_dict

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.drill.model import DrillReport

FORMATS = ("table", "json", "junit")
__all__ = ["FORMATS", "write_report"]


def write_report(fmt: str, out: TextIO, check: CheckReport, drill: DrillReport | None = None,
                 *, drill_skipped: str | None = None, color: bool = False) -> None:
    """Write the check report, and the drill's when there was one (`drill`) or it was not
    run (`drill_skipped` says why). `color`: the table's marks in colour (--color)."""
    with_drill = drill is not None or drill_skipped is not None
    if fmt == "json":
        data = check_as_dict(check)
        data["drift"] = drift.drift_as_list(check)
        if with_drill:
            data["drill"] = drill_as_dict(drill) if drill else {"skipped": drill_skipped}
        json.dump(data, out, indent=2)  # ASCII JSON: any reader gets the same text back
        out.write("\n")
    elif fmt == "junit":
        root = junit.check_suites(check)
        suite = drift.drift_suite(check)
        if suite is not None:
            junit.add_suite(root, suite)
        if with_drill:
            junit.add_suite(root, junit.drill_suite(drill) if drill
                            else junit.skipped_drill_suite(check.chapter, drill_skipped or ""))
        ET.indent(root)
        out.write(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
    else:
        table.check_table(check, out, color)
        if drill is not None:
            table.drill_table(drill, out, color)
        elif drill_skipped is not None:
            out.write("\n" + _("failover drill {why}").format(why=drill_skipped) + "\n")
