"""wire_format reads a message part exactly as jupyter_client's JSON
unpacker does: same values, same errors (pure logic)."""

from __future__ import annotations

import json

import pytest
from jupyter_client.session import Session, json_unpacker

from jupyter_session_ext.traffic.wire_format import unpacker

PARTS = [
    b'{"msg_id": "a", "msg_type": "status"}',
    b"{}",
    b' {"a": 1}',
    b'{"a": 1} \n',
    '{"é": "\u00e9"}'.encode(),
    b'{"a": NaN}',
    b"[1, 2]",
    b'"x"',
    b'{"nested": {"deep": [1, {"x": null}]}}',
    '{"s": "ok"}',
]
BAD = [b"\xff\xfe{}", b'{"a":', b"", b'{"a": 1} x', b"\xff\xfe", b"{'a': 1}", b'{"a": 1}{"b": 2}']


@pytest.mark.parametrize("part", PARTS)
def test_same_values_as_jupyter_client(part):
    read = unpacker(Session())
    assert json.dumps(read(part)) == json.dumps(json_unpacker(part))


@pytest.mark.parametrize("part", BAD)
def test_same_errors_as_jupyter_client(part):
    with pytest.raises(ValueError) as ours:
        unpacker(Session())(part)
    with pytest.raises(ValueError) as theirs:
        json_unpacker(part)
    assert str(ours.value) == str(theirs.value)


def test_another_unpacker_is_used_as_is():
    session = Session(unpacker="pickle", packer="pickle")
    assert unpacker(session) is session.unpack
