"""Saved views of the order grid (issue 15 §5): its filters and sort under a name, private or shared."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from orders.filters import filter_param_names

from .models import SavedView

SORT_PARAM = "o"  # the admin changelist's sort


def grid_query(query: str) -> str:
    """Only what the grid reads as filters and sort, in a stable order; anything else is dropped."""
    keep = filter_param_names() | {SORT_PARAM}
    pairs = [(key, value) for key, value in parse_qsl(query.lstrip("?")) if key in keep and value]
    return urlencode(sorted(pairs))


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=60, strip=True)
    shared = forms.BooleanField(required=False, label="Share with everyone")
    query = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_query(self) -> str:
        query = grid_query(self.cleaned_data.get("query", ""))
        if not query:
            raise forms.ValidationError("Choose some filters or a sort first: this view would show the whole grid.")
        if len(query) > SavedView._meta.get_field("query").max_length:
            raise forms.ValidationError("These filters are too long to save: shorten the search.")
        return query


def saved_view_save(*, owner: AbstractBaseUser, name: str, query: str, shared: bool) -> tuple[SavedView, bool]:
    """Save, or overwrite the owner's view of that name; says whether it replaced one."""
    view, created = SavedView.objects.update_or_create(owner=owner, name=name,
                                                       defaults={"query": grid_query(query), "shared": shared})
    return view, not created


def views_for(*, user: AbstractBaseUser) -> QuerySet[SavedView]:
    return SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")


def may_delete(*, user: AbstractBaseUser, view: SavedView) -> bool:
    return view.owner_id == user.pk or user.is_superuser
