"""Parse WeChat XML safely: no DTDs, no entities, no external references."""

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class MalformedXml(Exception):
    """The body is not a WeChat XML document we accept."""


def xml_to_fields(body: bytes | str) -> dict[str, str]:
    """Flatten `<xml>` into {tag: text}; nested groups become `Parent.Child` keys."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError) as exc:
        raise MalformedXml(str(exc) or exc.__class__.__name__) from exc
    if root.tag != "xml":
        raise MalformedXml(f"root element is <{root.tag}>, expected <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if len(child):
            for grandchild in child:
                fields[f"{child.tag}.{grandchild.tag}"] = (grandchild.text or "").strip()
        else:
            fields[child.tag] = (child.text or "").strip()
    return fields
