"""Admins' configuration: every setting is validated at start-up with a
message naming it."""

from __future__ import annotations

import re

import pytest
from traitlets import TraitError

from jupyter_session_ext.api.events import SessionEvents
from jupyter_session_ext.registry import SessionRegistry


@pytest.mark.parametrize(
    "trait, value, words",
    [
        ("code_preview_length", -1, "0 (no cut) or more"),
        ("kernel_info_timeout", 0, "more than 0 seconds"),
        ("poll_interval", -2.0, "more than 0 seconds"),
        ("resource_sampling_interval", -1, "0 (off) or more"),
        ("secret_env_patterns", ["TOKEN", "(unclosed"], "not a valid regular expression"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(trait, value, words):
    with pytest.raises(TraitError, match=re.escape(words)):
        SessionRegistry(**{trait: value})


def test_invalid_coalesce_interval_is_refused():
    with pytest.raises(TraitError, match="0 or more seconds"):
        SessionEvents(lambda kernel_id: 0, coalesce_interval=-0.5)
