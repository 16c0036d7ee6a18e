"""Hypothesis runs derandomized: the examples of a test are a function of the test alone,
so a verdict of ``python -m pytest`` (the README's command, and CI's) never depends on
luck, and a failure seen once is seen on every run and every machine.

``python -m pytest --hypothesis-profile=random`` draws fresh examples (and keeps the ones
that fail in .hypothesis/ for the next run): what to do when looking for new bugs.
``ZONESIM_FUZZ_SCALE=N`` multiplies the example counts of the fuzz suite (tests/fuzz).
"""

from __future__ import annotations

import signal

from hypothesis import settings

# A suite started in the background (`cmd &` from a script) inherits SIGINT ignored, and so
# would every zonesim process it starts: the Ctrl-C tests need SIGINT delivered. A handler
# here also gives the children SIGINT's default back at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("random", derandomize=False, deadline=None, print_blob=True)
settings.load_profile("ci")
