"""Records one telephony outcome in LCM through liblcm_outcome.

    pip install ./bindings/python        (or: export PYTHONPATH=bindings/python/src)
    LCM_OUTCOME_LIB=target/debug/liblcm_outcome.so \
        python3 examples/python/set_outcome.py http://127.0.0.1:8080/lcm

The endpoint is argv[1], or LCM_ENDPOINT when omitted. Exit status: 0 when LCM
confirmed the outcome, 1 when it did not.
"""

import sys

import lcm_outcome

if len(sys.argv) > 1:
    lcm_outcome.configure("endpoint", sys.argv[1])
try:
    lcm_outcome.set_outcome(
        "12345", "5|3|1|0|0|44|1", 1, user_id="testagent", agent_comments="Test comment"
    )
except lcm_outcome.LcmError as e:
    sys.exit(f"{e.status_name}: {e.message}")
print(f"LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {lcm_outcome.version()})")
