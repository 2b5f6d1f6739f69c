def today_context(request):
    return {}
performance_view = charts_view = reconcile_view = saved_view_save = saved_view_delete = today_context
