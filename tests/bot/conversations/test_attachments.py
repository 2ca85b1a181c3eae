"""Photos are fetched once, kept under MEDIA_ROOT and served to those who see the ticket."""

import random

import pytest
from knox.models import AuthToken

from bot.conversations.models import Attachment, Message
from bot.simulator.envelope import message_fields
from tests.bot.invoices.photos import phone_photo
from tickets.models import AgentProfile, Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"


def _agent(django_user_model, name, queues):
    user = django_user_model.objects.create_user(name, is_staff=True)
    profile = AgentProfile.objects.create(user=user, on_duty=True)
    profile.queues.set(queues)
    return user, {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=user)[1]}"}


def test_a_photo_on_a_ticket_is_kept_and_listed_with_its_url(
    wechat, fake_wechat, client, django_user_model
):
    wechat.text("o-att", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-att")
    photo = phone_photo("not an invoice", random.Random(3))
    fake_wechat.put_media("MEDIA-ATT", photo)
    fields = message_fields(openid="o-att", msg_type="image", MediaId="MEDIA-ATT", PicUrl="")
    wechat.post(fields)
    wechat.post(fields)  # a retry keeps nothing twice and fetches nothing again
    inbound = Message.objects.get(msg_type="image")
    [kept] = Attachment.objects.filter(message=inbound)
    assert kept.kind == "image" and kept.content_type == "image/jpeg"
    assert kept.file.read() == photo
    assert len(fake_wechat.calls("/cgi-bin/media/get")) == 1

    _, headers = _agent(django_user_model, "agent-att", Queue.objects.filter(pk=ticket.queue_id))
    body = client.get(f"/api/tickets/{ticket.pk}/", **headers).json()
    [row] = [m for m in body["messages"] if m["attachments"]]
    [attachment] = row["attachments"]
    assert attachment["kind"] == "image" and attachment["content_type"] == "image/jpeg"
    assert row["text"] == "[图片]"
    response = client.get(attachment["url"], **headers)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == photo

    # The same credentials as the ticket: nobody else, not even another queue's agent.
    assert client.get(attachment["url"]).status_code in (401, 403)
    other_queue = Queue.objects.exclude(pk=ticket.queue_id)
    _, others = _agent(django_user_model, "agent-other", other_queue)
    assert client.get(attachment["url"], **others).status_code == 404


def test_the_ticket_page_shows_a_thumbnail_that_opens_full_size(
    wechat, fake_wechat, client, django_user_model
):
    wechat.text("o-thumb", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-thumb")
    fake_wechat.put_media("MEDIA-T", phone_photo("x", random.Random(4)))
    wechat.post(message_fields(openid="o-thumb", msg_type="image", MediaId="MEDIA-T", PicUrl=""))
    user, _ = _agent(django_user_model, "agent-thumb", Queue.objects.all())
    client.force_login(user)
    html = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    kept = Attachment.objects.get()
    assert f'/api/attachments/{kept.pk}/" target="_blank"' in html
    assert 'class="tk-thumb"' in html
