"""Agents' API: verify an invoice, read fields from text, read the ledger; supervisors write it."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bot.invoices import ledger, selectors, services
from bot.invoices.diagnosis import Diagnosis
from bot.invoices.extraction import InvoiceFields, fields_extract
from bot.invoices.kinds import Kind
from bot.invoices.models import LedgerInvoice, Result, VerificationRecord
from support.roles import IsAgent, IsAgentReadSupervisorWrite


class InvoiceVerifyApi(APIView):
    """Check one invoice: normalised result, likely cause and the answer a follower would get."""

    permission_classes = [IsAgent]

    class VerifyInputSerializer(serializers.Serializer):
        invoice_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
        invoice_number = serializers.CharField(max_length=20)
        issue_date = serializers.DateField(required=False, allow_null=True)
        amount = serializers.DecimalField(
            max_digits=14, decimal_places=2, required=False, allow_null=True
        )
        amount_kind = serializers.ChoiceField(
            choices=["excluding_tax", "total"], required=False, allow_null=True
        )
        check_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
        kind = serializers.ChoiceField(
            choices=[k.value for k in Kind], required=False, allow_null=True
        )

    class VerifyOutputSerializer(serializers.Serializer):
        result = serializers.ChoiceField(choices=Result.values)
        diagnosis = serializers.ChoiceField(choices=[d.value for d in Diagnosis])
        reply = serializers.CharField()
        needs_person = serializers.BooleanField()
        should_watch = serializers.BooleanField()
        record_id = serializers.IntegerField()
        kind = serializers.CharField()
        region = serializers.CharField()
        details = serializers.DictField()

    @extend_schema(request=VerifyInputSerializer, responses=VerifyOutputSerializer)
    def post(self, request):
        data = self.VerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.invoice_check(
            follower_id=None,
            fields=InvoiceFields(**data.validated_data),
            source=VerificationRecord.Source.API,
        )
        body = {
            "result": outcome.result.value,
            "diagnosis": outcome.diagnosis.value,
            "reply": outcome.reply,
            "needs_person": outcome.needs_person,
            "should_watch": outcome.should_watch,
            "record_id": outcome.record_id,
            "kind": outcome.kind,
            "region": outcome.region,
            "details": outcome.details,
        }
        return Response(self.VerifyOutputSerializer(body).data)


class InvoiceExtractApi(APIView):
    """Read invoice fields from free text (typed, or voice recognition)."""

    permission_classes = [IsAgent]

    class ExtractInputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=2000, trim_whitespace=False)

    class ExtractOutputSerializer(serializers.Serializer):
        text = serializers.CharField()
        invoice_code = serializers.CharField(allow_null=True)
        invoice_number = serializers.CharField(allow_null=True)
        issue_date = serializers.DateField(allow_null=True)
        amount = serializers.CharField(allow_null=True)
        amount_kind = serializers.CharField(allow_null=True)
        check_code = serializers.CharField(allow_null=True)
        seller_tax_id = serializers.CharField(allow_null=True)
        kind = serializers.CharField(allow_null=True)
        region = serializers.CharField(allow_null=True)
        # 10 or 12 digits standing where a code would, that do not decode as one.
        rejected_code = serializers.CharField(allow_null=True)

    @extend_schema(request=ExtractInputSerializer, responses=ExtractOutputSerializer)
    def post(self, request):
        data = self.ExtractInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["text"]
        body = {"text": text, **fields_extract(text).as_json()}
        return Response(self.ExtractOutputSerializer(body).data)


class LedgerInvoiceSerializer(serializers.ModelSerializer):
    invoice_code = serializers.RegexField(r"^(\d{10}|\d{12})?$", required=False, allow_blank=True)
    invoice_number = serializers.RegexField(r"^(\d{8}|\d{20})$")

    class Meta:
        model = LedgerInvoice
        fields = [
            "id",
            *ledger.LEDGER_COLUMNS,  # the import's columns, one list for both
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The (code, number) pair is upserted on POST, so DRF's unique-together check is off.
        validators: list = []

    def validate(self, attrs):
        code = attrs.get("invoice_code", getattr(self.instance, "invoice_code", ""))
        number = attrs.get("invoice_number", getattr(self.instance, "invoice_number", ""))
        if (len(number) == 20) == bool(code):
            raise serializers.ValidationError(
                {"invoice_number": "20 位数电号码不填代码；8 位号码必须有发票代码。"}
            )
        return attrs


class LedgerInvoiceListApi(generics.ListCreateAPIView):
    """The operator's issued invoices. POST creates, or updates the row with that code+number."""

    permission_classes = [IsAgentReadSupervisorWrite]
    serializer_class = LedgerInvoiceSerializer

    def get_queryset(self):
        return selectors.ledger_invoice_list(number=self.request.query_params.get("number", ""))

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice, created = ledger.ledger_invoice_upsert(data=serializer.validated_data)
        return Response(
            self.get_serializer(invoice).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class LedgerInvoiceDetailApi(generics.RetrieveUpdateAPIView):
    """One ledger row: read, or change it (status, upload time, corrections)."""

    permission_classes = [IsAgentReadSupervisorWrite]
    serializer_class = LedgerInvoiceSerializer
    queryset = LedgerInvoice.objects.all()

    def update(self, request, *args, **kwargs):
        invoice = self.get_object()
        serializer = self.get_serializer(invoice, data=request.data, partial=kwargs.get("partial"))
        serializer.is_valid(raise_exception=True)
        duplicate = selectors.ledger_invoice_find(
            invoice_code=serializer.validated_data.get("invoice_code", invoice.invoice_code),
            invoice_number=serializer.validated_data.get("invoice_number", invoice.invoice_number),
        )
        if duplicate is not None and duplicate.pk != invoice.pk:
            raise serializers.ValidationError({"invoice_number": "该发票已在台账中。"})
        invoice = ledger.ledger_invoice_update(invoice=invoice, data=serializer.validated_data)
        return Response(self.get_serializer(invoice).data)
