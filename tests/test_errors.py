"""Errors are `{"error": code, "detail": text}` and name the field."""

from __future__ import annotations


async def test_given_unknown_route_then_404_in_our_shape(api):
    response = await api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_given_malformed_json_field_then_validation_error_names_it(api, headers):
    response = await api.post("/v1/seats", json={"code": "A-01", "softphone_identity": "phone"}, headers=headers["admin"])
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert [f["field"] for f in body["fields"]] == ["softphone_identity"]
    assert "softphone_identity" in body["detail"]


async def test_given_unknown_field_then_refused_not_ignored(api, headers):
    response = await api.post(
        "/v1/seats", json={"code": "A-01", "softphone_identity": "client:a01", "colour": "red"}, headers=headers["admin"]
    )
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "colour"
