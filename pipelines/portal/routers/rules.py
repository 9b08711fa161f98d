"""The submission rules (docs/submissions.md) as a page of the portal, so the footer and the messages
can send clerks to something they can open. Rendered from the very file the repository keeps."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request

from ..deps import CurrentUser, PortalHTTPError, portal

router = APIRouter(prefix="/help")

DOCS = Path(__file__).resolve().parents[3] / "docs"
PAGES = {"submissions": "submissions.md"}  # address -> file under docs/
_BY_FILE = {name: address for address, name in PAGES.items()}


def _href(href: str) -> str | None:
    """A link of the document as the portal serves it: other pages served here, outside links kept;
    None for a repository file the portal does not serve (the text stays, without a link)."""
    if re.match(r"(https?:|mailto:|#)", href):
        return href
    path, _, anchor = href.partition("#")
    address = _BY_FILE.get(path.rsplit("/", 1)[-1])
    if address is None:
        return None
    return f"/help/{address}" + (f"#{anchor}" if anchor else "")


@lru_cache(maxsize=4)
def render(path: Path, mtime: float) -> tuple[str, str]:
    """(title, body HTML) of a Markdown document; raw HTML in it is escaped, never passed through."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(path.read_text(encoding="utf-8"))
    title = ""
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1" and not title:
            title = tokens[i + 1].content
        if token.type != "inline" or not token.children:
            continue
        kept, dropped = [], []
        for child in token.children:
            if child.type == "link_open":
                href = _href(str(child.attrGet("href") or ""))
                dropped.append(href is None)
                if href is None:
                    continue
                child.attrSet("href", href)
            elif child.type == "link_close" and dropped.pop():
                continue
            kept.append(child)
        token.children = kept
    body = md.renderer.render(tokens, md.options, {})
    # wide tables scroll inside their own box on a phone (portal.css .table-wrap)
    body = body.replace("<table>", '<div class="table-wrap"><table>').replace("</table>", "</table></div>")
    return title, body


@router.get("/{page}")
def help_page(request: Request, user: CurrentUser, page: str):
    name = PAGES.get(page)
    path = DOCS / name if name else None
    if path is None or not path.is_file():
        raise PortalHTTPError(
            404,
            "没有这个说明页面。报送规范请向区发展和改革局索取。",
            "No such page. Ask the District Development and Reform Bureau for the submission rules.",
        )
    title, body = render(path, path.stat().st_mtime)
    return portal(request).render(request, "help.html", title=title, body=body)
