from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from orders.webhooks import walmart_webhook

admin.site.site_header = "Channel order back-office"
admin.site.site_title = "Channel orders"
admin.site.index_title = "Operations"
admin.site.enable_nav_sidebar = False  # the order grid needs the width

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("webhooks/walmart/<int:account_id>/", walmart_webhook, name="walmart-webhook"),
]
