"""xlwings Server registers the @script functions importable from this package: cs-desk's, re-exported."""
from excel_addin.scripts import refresh_cs_desk  # noqa: F401  (re-exported on purpose)
