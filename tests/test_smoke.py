def test_liveness_answers_pass(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "pass"
