"""Campaign definition files (`campaigns/<code>.toml`) read into a CampaignCreate."""

import tomllib
from pathlib import Path

from pydantic import ValidationError

from jvap.campaigns.schemas import CampaignCreate
from jvap.errors import InvalidInput


def parse_definition(content: bytes, *, name: str = "definition") -> CampaignCreate:
    """The campaign a TOML definition describes; InvalidInput listing every problem."""
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{name} is not valid TOML: {exc}") from exc
    if "code" in data and not isinstance(data["code"], str):
        data["code"] = str(data["code"])
    try:
        return CampaignCreate.model_validate(data)
    except ValidationError as exc:
        issues = [
            {
                "field": ".".join(str(p) for p in err["loc"]),
                "code": err["type"],
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
        raise InvalidInput(f"{name} is not a valid campaign definition", issues=issues) from exc


def find_definition(reference: str, campaigns_dir: Path) -> Path | None:
    """The definition file `reference` names: a path, or a code in `campaigns_dir`."""
    path = Path(reference)
    if path.is_file():
        return path
    candidate = campaigns_dir / f"{reference}.toml"
    return candidate if candidate.is_file() else None
