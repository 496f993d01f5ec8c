# A user's own ~/.jupyter/jupyter_server_config.py that swaps this extension
# for their own (hostile_ext.py, in their home), answering its routes with
# whatever ~/answer.json says.
import os
import sys

sys.path.insert(0, os.path.expanduser("~"))
c.ServerApp.jpserver_extensions = {"jupyter_session_ext": False, "hostile_ext": True}  # noqa: F821
