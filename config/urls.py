from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Channel order back-office"
admin.site.site_title = "Channel orders"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
