"""The project's URLs plus `POST /bench/minimal-insert/`: a DRF view with the project's token
authentication that inserts one row into a plain table and answers 201 — the least a booking
request could cost on the same server, the baseline of `bench/teleconsult_booking.py`."""

import json

from django.db import connection
from django.urls import path
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urls

TABLE = "bench_minimal_insert"
MINIMAL_URL = "/bench/minimal-insert/"
CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, user_id bigint NOT NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL)"


class MinimalInsert(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (user_id, body, created_at) VALUES (%s, %s, now()) RETURNING id",
                [request.user.pk, json.dumps(request.data, ensure_ascii=False)],
            )
            (pk,) = cursor.fetchone()
        return Response({"id": pk}, status=status.HTTP_201_CREATED)


urlpatterns = [*project_urls, path(MINIMAL_URL.lstrip("/"), MinimalInsert.as_view())]
