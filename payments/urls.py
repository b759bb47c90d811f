from django.urls import path

from payments.api import PaymentWebhookView

app_name = "payments"

urlpatterns = [
    path("webhook/", PaymentWebhookView.as_view(), name="webhook"),
]
