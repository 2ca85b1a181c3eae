"""API routes of this app, mounted under /api/ by support/urls.py."""

from django.urls import path

from bot.invoices import api

urlpatterns = [
    path("invoices/verify/", api.InvoiceVerifyApi.as_view(), name="api-invoices-verify"),
    path("invoices/extract/", api.InvoiceExtractApi.as_view(), name="api-invoices-extract"),
    path("invoices/ledger/", api.LedgerInvoiceListApi.as_view(), name="api-invoices-ledger"),
    path(
        "invoices/ledger/<int:pk>/",
        api.LedgerInvoiceDetailApi.as_view(),
        name="api-invoices-ledger-detail",
    ),
]
