"""Reports, the unanswered list and the suggestion inbox are for supervisors only."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

API = ["/api/reports/summary/", "/api/reports/unanswered/", "/api/feedback/"]
PAGES = [
    "/admin/reports/",
    "/admin/reports/unanswered/",
    "/admin/reports/export.csv",
    "/admin/reports/drill/?kind=conversations&figure=escalated",
]


@pytest.mark.parametrize("url", API)
def test_anonymous_callers_get_401(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("url", API)
def test_agents_get_403(agent_api, url):
    response = agent_api.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "仅主管可用"


@pytest.mark.parametrize("url", API)
def test_supervisors_get_200(supervisor_api, url):
    assert supervisor_api.get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_admin_pages_send_anonymous_users_to_log_in_and_refuse_agents(client, agent, url):
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(agent)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_admin_pages_open_for_supervisors(client, supervisor, url):
    client.force_login(supervisor)
    assert client.get(url).status_code == 200


def test_the_one_click_actions_refuse_agents(client, agent):
    client.force_login(agent)
    for url in ("/admin/reports/unanswered/paraphrases/", "/admin/reports/unanswered/entry/"):
        assert client.post(url, {"entry": "feedback", "texts": ["x"]}).status_code == 403
