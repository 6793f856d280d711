from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from clinics.models import Township
from clinics.selectors import township_list


class TownshipSerializer(serializers.ModelSerializer):
    class Meta:
        model = Township
        fields = ["id", "code", "name", "kind"]


@extend_schema(tags=["register"])
class TownshipViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TownshipSerializer
    ordering_fields = ("code", "name")

    def get_queryset(self):
        return township_list(user=self.request.user)
