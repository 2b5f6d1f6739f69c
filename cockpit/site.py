"""The admin site: Django's, with "Today" as its index and the cockpit's pages among its URLs."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path


class OperationsAdminSite(admin.AdminSite):
    index_template = "admin/cockpit_index.html"
    site_url = None  # the back-office is the whole site: no "View site" link back to itself

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        from . import views

        return super().index(request, {**(extra_context or {}), **views.today_context(request)})

    def get_urls(self):
        from . import views

        cockpit = [
            path("cockpit/performance/", self.admin_view(views.performance_view), name="cockpit_performance"),
            path("cockpit/charts/", self.admin_view(views.charts_view), name="cockpit_charts"),
            path("cockpit/reconcile/<int:account_id>/", self.admin_view(views.reconcile_view),
                 name="cockpit_reconcile"),
            path("cockpit/saved-views/save/", self.admin_view(views.saved_view_save), name="cockpit_savedview_save"),
            path("cockpit/saved-views/<int:view_id>/delete/", self.admin_view(views.saved_view_delete),
                 name="cockpit_savedview_delete"),
        ]
        return cockpit + super().get_urls()
