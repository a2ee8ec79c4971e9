"""cs-desk desktop app (PySide6): a thin face over the ``cs_desk`` engine.

Every number shown comes from ``cs_desk``; this package only translates between a person and
the engine (see ``docs/gui.md``). Entry point: :func:`gui.app.main` (``cs-desk-gui``).
"""

import os as _os

# matplotlib's Qt backend must bind to PySide6 (the only Qt binding cs-desk installs)
_os.environ.setdefault("QT_API", "pyside6")
