"""Records one telephony outcome in LCM through liblcm_outcome.

    pip install ./bindings/python        (or: export PYTHONPATH=bindings/python/src)
    LCM_OUTCOME_LIB=target/debug/liblcm_outcome.so \
        python3 examples/python/set_outcome.py http://127.0.0.1:8080/lcm

The endpoint is argv[1], or LCM_ENDPOINT when omitted. With
LCM_OUTBOX=/var/spool/dialer/outbox.db in the environment, an outcome that LCM does
not confirm now (LCM down, a timeout, a 5xx) is stored in that file and delivered
later by the library: set_outcome returns a Queued result. Exit status: 0 when LCM
confirmed the outcome or the outbox holds it, 1 when neither.
"""

import sys

import lcm_outcome

if len(sys.argv) > 1:
    lcm_outcome.configure("endpoint", sys.argv[1])
try:
    result = lcm_outcome.set_outcome(
        "12345", "5|3|1|0|0|44|1", 1, user_id="testagent", agent_comments="Test comment"
    )
except lcm_outcome.LcmError as e:
    sys.exit(str(e))  # "LCM_ERR_...: message", and a hint in Python terms when there is one
if result.queued:
    # No failure: the outcome is the library's to deliver from now on.
    print(f"LCM_QUEUED: call 12345 queued as entry {result.entry_id}, will be delivered later")
else:
    print(f"LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome {lcm_outcome.version()})")
