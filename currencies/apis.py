"""`/api/v1/organizations/<id>/reporting-currency/`: read (members) and set (owners and
admins) the currency an organization's mixed-currency reports are converted to."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from currencies.selectors import organization_reporting_currency
from currencies.services import reporting_currency_set
from currencies.units import CurrencyError
from web.apis.common import get_scoped


class ReportingCurrencyApi(APIView):
    class InputSerializer(serializers.Serializer):
        currency = serializers.CharField(
            allow_blank=True, allow_null=True, max_length=8, help_text="ISO 4217 code; empty or null: back to default"
        )

        class Meta:
            ref_name = "ReportingCurrencyInput"

    class OutputSerializer(serializers.Serializer):
        organization = serializers.IntegerField()
        currency = serializers.CharField()
        explicit = serializers.BooleanField(help_text="set by an owner/admin (false: the currency most spend is in)")

        class Meta:
            ref_name = "ReportingCurrencyOutput"

    def _answer(self, organization) -> Response:
        currency, explicit = organization_reporting_currency(organization.pk)
        return Response(
            self.OutputSerializer({"organization": organization.pk, "currency": currency, "explicit": explicit}).data
        )

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, pk: int):
        return self._answer(get_scoped(access.visible_organizations(request.user), pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def put(self, request, pk: int):
        organization = get_scoped(access.visible_organizations(request.user), pk)
        if not access.user_can_manage(request.user, organization):
            raise PermissionDenied("only the organization's owners and admins set its reporting currency")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            reporting_currency_set(
                organization=organization, currency=data.validated_data["currency"], user=request.user
            )
        except CurrencyError as exc:
            raise ValidationError({"currency": [str(exc)]}) from None
        return self._answer(organization)
