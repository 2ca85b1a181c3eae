"""The simulator page and its small JSON API (enabled in DEBUG or SIMULATOR_ENABLED)."""

import json
import uuid
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from bot.conversations import selectors
from bot.conversations.models import Follower, Message
from bot.simulator.envelope import build_delivery, message_fields, open_reply

_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_EVENTS = {"subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION"}


def _media_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "simulator"
    path.mkdir(parents=True, exist_ok=True)
    return path


def simulator_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        # A development stand-in: never reachable with DEBUG off, whatever else is set.
        if not (settings.DEBUG and settings.SIMULATOR_ENABLED):
            raise Http404("simulator disabled")
        return view(request, *args, **kwargs)

    return wrapped


def _menu_buttons() -> list | None:
    """The custom menu's buttons from WECHAT_MENU_FILE; None when missing or unreadable."""
    try:
        menu = json.loads(Path(settings.WECHAT_MENU_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    buttons = menu.get("button") if isinstance(menu, dict) else None
    return buttons if isinstance(buttons, list) else None


@simulator_only
@require_GET
def page(request: HttpRequest):
    return render(
        request,
        "simulator/index.html",
        {
            "aes_enabled": bool(settings.WECHAT_ENCODING_AES_KEY),
            "menu_buttons": _menu_buttons(),
        },
    )


@simulator_only
@require_GET
def followers(request: HttpRequest) -> JsonResponse:
    rows = Follower.objects.filter(openid__startswith="sim-").order_by("-id")[:50]
    return JsonResponse(
        {"followers": [{"openid": f.openid, "subscribed": f.subscribed} for f in rows]}
    )


@simulator_only
@require_POST
def envelope(request: HttpRequest) -> JsonResponse:
    """Sign what the phone would send: {openid, kind, text?, recognition?, event?, ...}."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "invalid JSON"}, status=400)
    openid = str(data.get("openid") or "")
    if not openid.startswith("sim-") or len(openid) > 64:
        return JsonResponse({"error": "openid must start with sim-"}, status=400)
    kind = data.get("kind")
    if kind == "text":
        fields = message_fields(openid=openid, msg_type="text", Content=str(data.get("text", "")))
    elif kind == "voice":
        fields = message_fields(
            openid=openid,
            msg_type="voice",
            MediaId=f"sim-voice-{uuid.uuid4().hex[:12]}",
            Format="amr",
            Recognition=str(data.get("recognition", "")),
        )
    elif kind == "image":
        fields = message_fields(
            openid=openid,
            msg_type="image",
            PicUrl=str(data.get("pic_url", "")),
            MediaId=str(data.get("media_id", "")),
        )
    elif kind == "event" and data.get("event") in _EVENTS:
        fields = message_fields(
            openid=openid,
            msg_type="event",
            Event=data["event"],
            EventKey=str(data.get("event_key", "")),
        )
    else:
        return JsonResponse({"error": "unknown kind"}, status=400)
    mode = "safe" if data.get("encrypt") and settings.WECHAT_ENCODING_AES_KEY else "plain"
    delivery = build_delivery(fields, mode=mode)
    return JsonResponse({"url": delivery.path, "body": delivery.body.decode()})


@simulator_only
@require_POST
def open_view(request: HttpRequest) -> JsonResponse:
    """Decrypt/parse a webhook reply for display."""
    try:
        reply = open_reply(request.body.decode("utf-8", errors="replace"))
    except Exception as exc:
        return JsonResponse({"error": f"unreadable reply: {exc.__class__.__name__}"}, status=400)
    return JsonResponse({"reply": reply})


@simulator_only
@require_GET
def pushed(request: HttpRequest) -> JsonResponse:
    """Pushed (customer-service and template) messages after `after`, oldest first."""
    openid = request.GET.get("openid", "")
    follower = selectors.follower_get(openid=openid) if openid.startswith("sim-") else None
    if follower is None:
        return JsonResponse({"messages": []})
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    rows = (
        selectors.conversation(follower=follower, after_id=after)
        .filter(direction=Message.Direction.OUT)
        .exclude(channel=Message.Channel.PASSIVE)[:100]
    )
    return JsonResponse(
        {
            "messages": [
                {
                    "id": m.id,
                    "channel": m.channel,
                    "channel_label": m.get_channel_display(),
                    "text": m.text,
                    "delivery_status": m.delivery_status,
                    "created_at": m.created_at.isoformat(),
                }
                for m in rows
            ]
        }
    )


@simulator_only
@require_GET
def history(request: HttpRequest) -> JsonResponse:
    """The whole conversation of one of the simulator's followers, oldest first (the phone)."""
    openid = request.GET.get("openid", "")
    follower = selectors.follower_get(openid=openid) if openid.startswith("sim-") else None
    if follower is None:
        return JsonResponse({"messages": []})
    rows = list(
        selectors.conversation(follower=follower, after_id=0)
        .exclude(msg_type=Message.Type.EVENT)
        .order_by("-id")[:200]
    )[::-1]
    return JsonResponse(
        {
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "msg_type": m.msg_type,
                    "channel": m.channel,
                    "channel_label": m.get_channel_display(),
                    "text": m.display_text if m.direction == Message.Direction.IN else m.text,
                    "pic_url": m.pic_url,
                    "delivery_status": m.delivery_status,
                    "created_at": m.created_at.isoformat(),
                }
                for m in rows
            ]
        }
    )


@simulator_only
@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    """Store an image the way WeChat hosts one, and hand back its PicUrl and MediaId."""
    image = request.FILES.get("image")
    if image is None:
        return JsonResponse({"error": "no image"}, status=400)
    if image.size > _MAX_UPLOAD_BYTES:
        return JsonResponse({"error": "image larger than 20 MB"}, status=413)
    media_id = f"sim-{uuid.uuid4().hex}"
    with open(_media_dir() / media_id, "wb") as out:
        for chunk in image.chunks():
            out.write(chunk)
    pic_url = request.build_absolute_uri(f"/simulator/media/{media_id}")
    return JsonResponse({"media_id": media_id, "pic_url": pic_url})


@simulator_only
@require_GET
def media(request: HttpRequest, media_id: str):
    if not media_id.startswith("sim-") or "/" in media_id or ".." in media_id:
        raise Http404
    path = _media_dir() / media_id
    if not path.is_file():
        raise Http404
    return FileResponse(open(path, "rb"), content_type="image/jpeg")
