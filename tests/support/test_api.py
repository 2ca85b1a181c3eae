"""The one API error format: domain refusals and DRF's own errors, through a URL."""

import sys
from enum import StrEnum
from http import HTTPStatus

import pytest
from django.urls import include, path
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from support.errors import DomainError

pytestmark = pytest.mark.django_db


class GardenErrorCode(StrEnum):
    """A made-up domain's vocabulary."""

    WILTED = "wilted"
    UNKNOWN_PLANT = "unknown_plant"


class GardenError(DomainError):
    status = HTTPStatus.CONFLICT


class RefusingApi(APIView):
    authentication_classes = []
    permission_classes = []

    class InputSerializer(serializers.Serializer):
        plant = serializers.CharField()

    def post(self, request, case: str):
        if case == "conflict":
            raise GardenError(GardenErrorCode.WILTED, "已枯萎")
        if case == "field":
            raise GardenError(
                GardenErrorCode.UNKNOWN_PLANT, "没有这种植物", status=400, field="plant"
            )
        if case == "bare":
            raise DomainError(GardenErrorCode.WILTED)
        if case == "missing":
            raise exceptions.NotFound()
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


# The project's URLs too: its middleware reverses some of them.
urlpatterns = [path("refuse/<str:case>/", RefusingApi.as_view()), path("", include("support.urls"))]


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = sys.modules[__name__]


def test_a_domain_error_is_its_status_code_and_message(client):
    response = client.post("/refuse/conflict/")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "wilted", "message": "已枯萎"}}


def test_a_domain_error_naming_an_input_points_at_it(client):
    response = client.post("/refuse/field/")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "unknown_plant",
            "message": "没有这种植物",
            "fields": {"plant": ["没有这种植物"]},
        }
    }


def test_a_bare_domain_error_is_a_400_worded_by_its_code(client):
    response = client.post("/refuse/bare/")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "wilted", "message": "wilted"}}


def test_drf_errors_keep_the_same_format(client):
    invalid = client.post("/refuse/input/", {}, content_type="application/json")
    assert invalid.status_code == 400
    body = invalid.json()["error"]
    assert (body["code"], body["message"]) == ("invalid", "输入有误")
    assert set(body["fields"]) == {"plant"}
    missing = client.post("/refuse/missing/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
