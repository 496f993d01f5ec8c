"""Server for languages.spec.ts: the panel tests' server
(jupyter_server_test_config.py) on port 8904, whose JupyterLab settings are
real files: the spec switches JupyterLab's language as a user does, and the
server translates the settings editor's schemas in the language stored there.
(Galata's other specs serve settings from the page instead, never reaching
the server.) The settings Galata sets for every test are written here."""

import json  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

load_subconfig("jupyter_server_test_config.py")  # noqa: F821
c.ServerApp.port = 8904  # noqa: F821

settings = Path(tempfile.mkdtemp(prefix="galata-settings-"))
c.LabApp.user_settings_dir = str(settings)  # noqa: F821
# No "news?" toast, no update check (the machines have no network): Galata's defaults.
notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
notification.parent.mkdir(parents=True)
notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
