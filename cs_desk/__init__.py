"""cs-desk: customer-success KPIs on your own files. The engine shared by CLI, GUI and Excel add-in."""
from __future__ import annotations

__version__ = "0.1.0"
