"""JSON text for the database's JSON columns, written and read with orjson."""

from typing import Any

import orjson

# An upload's report and change set run to several MB: orjson encodes them about ten times
# faster than the json module. Non-text keys become text, as json.dumps makes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=_OPTIONS).decode()


loads = orjson.loads
