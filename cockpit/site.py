"""The admin site: Django's, with "Today" as its index and the cockpit's pages among its URLs."""

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.urls import path, reverse


class OperationsAdminSite(admin.AdminSite):
    index_template = "admin/cockpit_index.html"
    site_url = None  # the back-office is the whole site: no "View site" link back to itself

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        from . import views

        return super().index(request, {**(extra_context or {}), **views.today_context(request)})

    def _build_app_dict(self, request: HttpRequest, label: str | None = None) -> dict:
        """The cockpit's section of the app list (index, sidebar, its own page, the breadcrumbs'
        "Operations cockpit") holds its pages beside Needs attention, for whoever may open them."""
        from . import views

        app_dict = super()._build_app_dict(request, label)
        if label not in (None, "cockpit") or not request.user.has_perm(views.VIEW_PERMISSION):
            return app_dict
        app = app_dict.setdefault("cockpit", {
            "name": apps.get_app_config("cockpit").verbose_name, "app_label": "cockpit",
            "app_url": reverse("admin:app_list", kwargs={"app_label": "cockpit"}, current_app=self.name),
            "has_module_perms": True, "models": []})
        for name, url_name in views.PAGES:
            app["models"].append({"model": None, "name": name, "object_name": name.title().replace(" ", ""),
                                  "perms": {"view": True}, "admin_url": reverse(url_name, current_app=self.name),
                                  "add_url": None, "view_only": True})
        return app_dict

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
