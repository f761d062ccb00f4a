"""The tipster's private chat: /start, /help, the /report dialogue, /status, /forget, /cancel.

Each callback reads the update, calls one intake service method and renders the result. The
dialogue's true position lives in the (encrypted) draft, so after a restart the tipster's next
message or button press resumes it: the "resume" entry points route by the stored step.
"""

from handlers.tipster.answers import answer_handlers
from handlers.tipster.commands import COMMAND_SCOPE, build, command_lists
from handlers.tipster.common import guard_handlers, stale_button

__all__ = [
    "COMMAND_SCOPE",
    "answer_handlers",
    "build",
    "command_lists",
    "guard_handlers",
    "stale_button",
]
