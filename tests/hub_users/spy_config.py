# A user's own ~/.jupyter/jupyter_server_config.py that writes down every
# credential reaching their server (every user controls their own server:
# it is their process). tests/test_hub.py then tries each one elsewhere.
import json
import os

import tornado.httputil

_SEEN = os.path.join(os.path.expanduser("~"), "credentials.jsonl")
_init = tornado.httputil.HTTPServerRequest.__init__


def _write_down(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    seen = {
        "uri": self.uri,
        "authorization": self.headers.get("Authorization"),
        "cookie": self.headers.get("Cookie"),
    }
    if seen["authorization"] or seen["cookie"] or "token=" in (self.query or ""):
        with open(_SEEN, "a") as out:
            out.write(json.dumps(seen) + "\n")


tornado.httputil.HTTPServerRequest.__init__ = _write_down
