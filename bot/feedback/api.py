"""The 意见建议 inbox over the API: supervisors list suggestions and mark them handled."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bot.feedback import selectors, services
from bot.feedback.models import Suggestion
from support.roles import IsSupervisor


class SuggestionOutputSerializer(serializers.ModelSerializer):
    openid = serializers.CharField(source="follower.openid")
    nickname = serializers.CharField(source="follower.nickname")
    handled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Suggestion
        fields = [
            "id",
            "openid",
            "nickname",
            "text",
            "status",
            "handled_by",
            "handled_at",
            "note",
            "created_at",
        ]


class SuggestionListApi(generics.ListAPIView):
    """The inbox, newest first. `?status=new|read|done` (comma-separated for several)."""

    permission_classes = [IsSupervisor]
    serializer_class = SuggestionOutputSerializer

    def get_queryset(self):
        return selectors.suggestion_list(status=self.request.query_params.get("status", ""))


class SuggestionStatusApi(APIView):
    """Mark one suggestion new, read or done (who and when are recorded)."""

    permission_classes = [IsSupervisor]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Suggestion.Status.choices)
        note = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses=SuggestionOutputSerializer)
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = services.suggestion_status_set(
            suggestion=get_object_or_404(Suggestion, pk=pk),
            status=data.validated_data["status"],
            note=data.validated_data.get("note"),
            user=request.user,
        )
        return Response(SuggestionOutputSerializer(suggestion).data)
