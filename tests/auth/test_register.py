"""POST /api/v1/auth/register"""

from typing import Any

from service.models import User
from tests.support.api import REGISTER
from tests.support.problems import assert_invalid, assert_problem
from tests.support.servers import Api, Server


def registration(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "password": "correct horse",
        "display_name": "Ada",
    } | overrides


def test_register_creates_a_member_and_answers_201_with_the_user(api: Api) -> None:
    response = api.post(REGISTER, json=registration())
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["display_name"] == "Ada"
    assert body["roles"] == ["member"]
    assert "password" not in str(body)
    assert body["created_at"].endswith("+00:00") or body["created_at"].endswith("Z")


def test_register_stores_an_argon2id_hash_not_the_password(api: Api, server: Server) -> None:
    api.post(REGISTER, json=registration())
    user = server.run(User.get(email="ada@example.com"))
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash


def test_register_normalises_email_case_and_space(api: Api) -> None:
    response = api.post(REGISTER, json=registration(email="  Ada@Example.COM "))
    assert response.json()["email"] == "ada@example.com"


def test_email_is_unique_case_insensitively(api: Api) -> None:
    assert api.post(REGISTER, json=registration()).status_code == 201
    response = api.post(REGISTER, json=registration(email="ADA@example.com"))
    assert_problem(response, 409, "EMAIL_TAKEN")


def test_a_short_password_is_a_validation_failure_naming_the_field(api: Api) -> None:
    response = api.post(REGISTER, json=registration(password="short"))
    body = assert_invalid(response, "password")
    assert [e["field"] for e in body["errors"]] == ["password"]


def test_an_invalid_email_is_a_validation_failure(api: Api) -> None:
    response = api.post(REGISTER, json=registration(email="not-an-email"))
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "email"


def test_a_blank_display_name_is_a_validation_failure(api: Api) -> None:
    response = api.post(REGISTER, json=registration(display_name="   "))
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "display_name"


def test_missing_fields_are_each_reported(api: Api) -> None:
    response = api.post(REGISTER, json={})
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"email", "password", "display_name"}


def test_unknown_fields_are_refused(api: Api) -> None:
    response = api.post(REGISTER, json=registration(is_admin=True))
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "is_admin"


def test_concurrent_registrations_of_one_email_create_one_user(api: Api, server: Server) -> None:
    responses = api.gather(
        *[lambda http: http.post(REGISTER, json=registration()) for _ in range(3)]
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert server.run(User.filter(email="ada@example.com").count()) == 1
