from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    batch_id: int
    kind: str
    rows: int
    created: dict[str, int]
