"""The agent's "my work" panel on the admin home."""

from django import template

from tickets import selectors

register = template.Library()


@register.inclusion_tag("admin/tickets/my_work.html", takes_context=True)
def my_work(context):
    user = context["request"].user
    if not selectors.is_agent(user):
        return {"lists": None}
    return {"lists": selectors.agent_work(user=user)}
