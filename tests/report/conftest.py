"""The report tests' shared fixtures: `web`, a local web server that fails while a flag
file exists (defined with the report's browser test)."""

from tests.report.test_html_report import web  # noqa: F401 - a fixture, found by pytest
