"""退税指南 / 服务区: articles kept as Markdown files under content/guides (protocol §7)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from server_stub.api.deps import CurrentEnterprise
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import GuideArticle, GuideList, documented

router = APIRouter(tags=["办税服务"])

GUIDES_DIR = Path(__file__).resolve().parents[2] / "content" / "guides"
CATEGORIES = (
    "在线申报服务",
    "外贸企业政策",
    "生产企业政策",
    "退税学堂",
    "百科法规",
    "退税图书馆",
    "财税大百科",
    "退税博客",
)


@dataclass(frozen=True)
class Guide:
    id: str
    category: str
    title: str
    summary: str
    body: str

    def head(self) -> dict[str, str]:
        return {"id": self.id, "category": self.category, "title": self.title,
                "summary": self.summary}  # fmt: skip


def _parse(path: Path) -> Guide:
    """A guide file: ``---`` front matter of ``key: value`` lines, then Markdown."""
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = dict(line.split(": ", 1) for line in front.strip().splitlines())
    return Guide(meta["id"], meta["category"], meta["title"], meta["summary"], body.strip() + "\n")


@cache
def all_guides() -> tuple[Guide, ...]:
    guides = [_parse(p) for p in sorted(GUIDES_DIR.glob("*.md"))]
    return tuple(sorted(guides, key=lambda g: (CATEGORIES.index(g.category), g.id)))


@router.get(
    "/guides",
    response_model=documented(GuideList),
    summary="退税指南列表",
    responses=error_responses(401, 403, 422),
)
def list_guides(
    enterprise: CurrentEnterprise,
    category: Annotated[str | None, Query(description="类别，如 退税学堂")] = None,
) -> dict[str, Any]:
    if category is not None and category not in CATEGORIES:
        raise ApiError(
            422, "VALIDATION", "指南类别不存在，请从列出的类别中选择。",
            errors=[{"field": "category", "message": "可选：" + "、".join(CATEGORIES)}],
        )  # fmt: skip
    items = [g.head() for g in all_guides() if category in (None, g.category)]
    return {"total": len(items), "items": items}


@router.get(
    "/guides/{guide_id}",
    response_model=documented(GuideArticle),
    summary="退税指南正文",
    responses=error_responses(401, 403, 404),
)
def get_guide(enterprise: CurrentEnterprise, guide_id: str) -> dict[str, Any]:
    for g in all_guides():
        if g.id == guide_id:
            return {**g.head(), "body": g.body}
    raise ApiError(404, "NOT_FOUND", "该指南不存在或已下线。")
