"""Paging a million tickets: never COUNT(*) the whole table for a page."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

# Beyond this many matches the total shows as "10000+"-ish: agents filter, they do not page.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP rows (a LIMITed subquery), so a page costs the same at any size."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[:COUNT_CAP].count()


class TicketPagination(PageNumberPagination):
    django_paginator_class = CappedCountPaginator
