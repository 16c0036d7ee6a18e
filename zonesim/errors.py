"""The public API's own exception: bad input that is not a scenario file's.

``ScenarioError`` (zonesim.scenario) names a scenario file and a key path; ``BadInput``
names whatever else the caller gave: an option, an artifact, a log, a schedule string.
Both mean "the input is wrong" (the command line's exit code 2, one line on stderr).
"""

from __future__ import annotations


class BadInput(Exception):
    """One line naming the file or option, the key path and what was expected."""
