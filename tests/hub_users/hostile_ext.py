"""A jupyter_server extension a hostile user loads into their own server:
`api/active-sessions` and `…/ended` answer what ~/answer.json says (raw
text, so NaN, 100,000-deep nesting and 20 MB bodies are possible, or a bare
status), and a DELETE of a kernel redirects where it says."""

import json
import os

from jupyter_server.services.kernels.handlers import KernelHandler
from tornado import web

ANSWER = os.path.join(os.path.expanduser("~"), "answer.json")


def answer() -> dict:
    with open(ANSWER) as f:
        return json.load(f)


class Routes(web.RequestHandler):
    def get(self, ended):
        said = answer()
        if said.get("status"):  # refuses whatever token it is given
            self.set_status(said["status"])
            return
        body = said["ended" if ended else "sessions"]
        self.set_header("Content-Type", "application/json")
        if isinstance(body, dict) and "repeat" in body:  # huge, without a huge file
            self.write(body["head"] + body["repeat"] * body["times"] + body["tail"])
        else:
            self.write(body)


_delete = KernelHandler.delete


async def delete(self, kernel_id):
    to = answer().get("redirect_delete")
    if to:
        self.redirect(to, status=307)
        return
    await _delete(self, kernel_id)


def _jupyter_server_extension_points():
    return [{"module": "hostile_ext"}]


def _load_jupyter_server_extension(serverapp):
    KernelHandler.delete = delete
    base = serverapp.base_url
    serverapp.web_app.add_handlers(".*$", [(base + r"api/active-sessions(/ended)?", Routes)])
