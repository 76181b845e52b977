"""Every error class and framework error renders the one JSON error shape."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from jvap.errors import ERROR_CLASSES, JvapError


class Body(BaseModel):
    title: str
    budget: float


@pytest.fixture
def error_client(app: FastAPI) -> TestClient:
    @app.get("/test-error/{name}")
    def raise_error(name: str) -> None:
        cls = next(c for c in ERROR_CLASSES if c.__name__ == name)
        raise cls("something went wrong", issues=[{"field": "title", "message": "required"}])

    @app.post("/test-body")
    def body(payload: Body) -> Body:
        return payload

    return TestClient(app)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_error_class_has_the_shape(error_client: TestClient, cls: type[JvapError]) -> None:
    response = error_client.get(f"/test-error/{cls.__name__}")
    assert response.status_code == cls.status_code
    assert response.json() == {
        "error": cls.code,
        "detail": "something went wrong",
        "issues": [{"field": "title", "message": "required"}],
    }


def test_error_codes_are_unique() -> None:
    assert len({cls.code for cls in ERROR_CLASSES}) == len(ERROR_CLASSES)


def test_request_validation_lists_every_problem(error_client: TestClient) -> None:
    response = error_client.post("/test-body", json={"budget": "lots"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert {issue["field"] for issue in body["issues"]} == {"title", "budget"}


def test_unknown_route_is_not_found_in_the_same_shape(error_client: TestClient) -> None:
    response = error_client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found", "issues": []}
