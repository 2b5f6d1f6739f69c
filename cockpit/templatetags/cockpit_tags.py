from django import template

from ..saved_views import grid_query, may_delete, views_for

register = template.Library()


@register.inclusion_tag("admin/cockpit/saved_views.html", takes_context=True)
def saved_views(context) -> dict:
    """The saved views above the order grid (one query), and the form saving the current one."""
    request = context["request"]
    current = grid_query(request.GET.urlencode())
    views = [{"view": view, "active": view.query == current, "deletable": may_delete(user=request.user, view=view)}
             for view in views_for(user=request.user)]
    return {"views": views, "current_query": current, "csrf_token": context.get("csrf_token")}
