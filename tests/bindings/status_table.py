"""What does the Python binding know of the C header's constants? Prints, as JSON,
its status table, the exception classes it exports and the class each status
raises, its log levels and its error buffer size, for tests/bindings_agree.rs.

Only the package is imported: the library is not loaded, so nothing here can come
from the C side."""

import inspect
import json

import lcm_outcome
from lcm_outcome import _errors

exported = {name: getattr(lcm_outcome, name) for name in lcm_outcome.__all__}

classes = [
    {
        "class": name,
        "status": value.status,
        "status_name": value.status_name,
        # A class that only refines another's status (ClientClosedError) does not
        # stand for a status of its own.
        "own_status": "status" in vars(value),
    }
    for name, value in sorted(exported.items())
    if inspect.isclass(value) and issubclass(value, lcm_outcome.LcmError)
    and value is not lcm_outcome.LcmError
]

# A value no version will define: what error_for gives for a status it does not know.
UNKNOWN = 2**31 - 1
raised = [
    [type(lcm_outcome.error_for(value, "PROBE", "probe")).__name__, value]
    for value in list(_errors._STATUS_NAMES) + [UNKNOWN]
]

print(
    json.dumps(
        {
            "statuses": [[name, value] for value, name in _errors._STATUS_NAMES.items()],
            "ok": lcm_outcome.LCM_OK,
            "classes": classes,
            "raised": raised,
            "unknown": UNKNOWN,
            "error_size": lcm_outcome.LCM_ERROR_SIZE,
            "log_levels": [
                ["LCM_" + name, value]
                for name, value in exported.items()
                if name.startswith("LOG_")
            ],
        },
        sort_keys=True,
    )
)
