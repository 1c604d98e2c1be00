"""POST /api/v1/auth/register"""

from service.models import User

REGISTER = "/api/v1/auth/register"


def registration(**overrides):
    return {
        "email": "ada@example.com",
        "password": "correct horse",
        "display_name": "Ada",
    } | overrides


def test_register_creates_a_member_and_answers_201_with_the_user(api):
    response = api.post(REGISTER, json=registration())
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["display_name"] == "Ada"
    assert body["roles"] == ["member"]
    assert "password" not in str(body)
    assert body["created_at"].endswith("+00:00") or body["created_at"].endswith("Z")


def test_register_stores_an_argon2id_hash_not_the_password(api, server):
    api.post(REGISTER, json=registration())
    user = server.run(User.get(email="ada@example.com"))
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash


def test_register_normalises_email_case_and_space(api):
    response = api.post(REGISTER, json=registration(email="  Ada@Example.COM "))
    assert response.json()["email"] == "ada@example.com"


def test_email_is_unique_case_insensitively(api):
    assert api.post(REGISTER, json=registration()).status_code == 201
    response = api.post(REGISTER, json=registration(email="ADA@example.com"))
    assert response.status_code == 409
    assert response.json()["code"] == "EMAIL_TAKEN"


def test_a_short_password_is_a_validation_failure_naming_the_field(api):
    response = api.post(REGISTER, json=registration(password="short"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    assert [e["field"] for e in body["errors"]] == ["password"]


def test_an_invalid_email_is_a_validation_failure(api):
    response = api.post(REGISTER, json=registration(email="not-an-email"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"


def test_a_blank_display_name_is_a_validation_failure(api):
    response = api.post(REGISTER, json=registration(display_name="   "))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "display_name"


def test_missing_fields_are_each_reported(api):
    response = api.post(REGISTER, json={})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "password", "display_name"}


def test_unknown_fields_are_refused(api):
    response = api.post(REGISTER, json=registration(is_admin=True))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "is_admin"


def test_concurrent_registrations_of_one_email_create_one_user(api, server):
    responses = api.gather(
        *[lambda http: http.post(REGISTER, json=registration()) for _ in range(3)]
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert server.run(User.filter(email="ada@example.com").count()) == 1
