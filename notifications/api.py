from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination
from notifications.models import Notification
from notifications.selectors import READ_FILTERS, inbox_list, inbox_unread_count, preference_get
from notifications.serializers import InboxNotificationSerializer, MarkReadSerializer, PreferenceSerializer
from notifications.services import notification_mark_read, preference_update


class InboxPagination(Pagination):
    """Pages of the inbox, with the count of unread messages beside them."""

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["unread"] = {"type": "integer", "example": 3}
        paginated["required"] = [*paginated.get("required", []), "unread"]
        return paginated


@extend_schema(tags=["notifications"])
@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("read", str, enum=list(READ_FILTERS), description="all (default), unread or read")]
    )
)
class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The signed-in user's inbox: delivered in-app messages, newest first."""

    serializer_class = InboxNotificationSerializer
    pagination_class = InboxPagination
    ordering_fields = ("sent_at", "id")
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        read = self.request.query_params.get("read", "all")
        return inbox_list(user=self.request.user, read=read if read in READ_FILTERS else "all")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = inbox_unread_count(user=request.user)
        return response

    @extend_schema(request=None, responses={200: InboxNotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notification_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db(fields=["read_at"])
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=MarkReadSerializer,
        responses={200: inline_serializer("MarkReadResult", {"marked": serializers.IntegerField(), "unread": serializers.IntegerField()})},
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notification_mark_read(user=request.user, ids=serializer.validated_data.get("ids"))
        return Response({"marked": marked, "unread": inbox_unread_count(user=request.user)})


@extend_schema(tags=["notifications"])
class PreferenceView(APIView):
    """How the signed-in user is reached: each registered channel on or off (`<code>_enabled`), and
    the addresses to use instead of the register's."""

    @extend_schema(responses=PreferenceSerializer)
    def get(self, request):
        return Response(PreferenceSerializer(preference_get(user=request.user)).data)

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer)
    def put(self, request):
        current = preference_get(user=request.user)
        serializer = PreferenceSerializer(current, data=request.data, partial=request.method == "PATCH")
        serializer.is_valid(raise_exception=True)
        data = {**PreferenceSerializer(current).data, **serializer.validated_data}
        preference_update(user=request.user, acting_user=request.user, **data)
        return Response(PreferenceSerializer(preference_get(user=request.user)).data, status=status.HTTP_200_OK)

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer)
    def patch(self, request):
        return self.put(request)
