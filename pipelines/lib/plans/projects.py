"""Candidate major projects named in an outline's prose and boxes, with the quantity the text gives.

A clause is a candidate when an implementation verb (建设, 新建, 改造, 实施 … 工程, 打造 … 园区) governs a
named facility or programme (中心, 园区, 医院, 变电站, 道路, 片区 …). Lists share their suffix
(`甸柳片区、解放路片区…等城市有机更新项目` → one project per area). The text rarely dates projects:
dates and milestones are left for the reviewer, and every candidate says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import review_note
from .outline import Outline, spaced
from .statements import (
    COUNTED,
    QUANTITY,
    Span,
    _clauses,
    _excluded_spans,
    _inside,
    _sentences,
    heading_breaks,
)

VERB = re.compile(
    r"(?:加快|推进|推动|实施|加速|全力|积极|重点|高标准|谋划|策划|协调|持续|完成|做好|启动|开展|配合)?"
    r"(?:建设|新建|扩建|改扩建|改造提升|改造|修复治理|修复|建成|打造|搭建|组建|建立|实施|开发建设|开发|征收拆迁|征收改造|"
    r"清挖|清淤检测修复|申遗|开工|续建|迁建|启动)"
)
NOUN = re.compile(
    r"(?:中心|分中心|园区|产业园|集聚区|医院|院区|学校|中小学|幼儿园|变电站|道路|桥梁|隧道|管网|街区|片区|馆|楼宇|"
    r"工程|项目|基地|平台|公园|绿道|河道|酒店|民宿|广场|景区|度假区|风景区|站|线|港|大厦|综合体|系统|区域|地区|城中村|山体|"
    r"阵地|管廊|停车场|校区|大学)"
    r"(?:[一二三四五六七八九]期)?(?:建设|改造|工程|项目)?$"
)
NOT_PROJECTS = re.compile(
    r"体系|机制|制度|环境|氛围|格局|品牌|生态$|模式|理念|能力|水平|标准|队伍|文化$|服务$|意识|一批|的"
)
# a name starting like this is a clause that was cut in the wrong place, not a project
BAD_START = re.compile(
    r"^(?:加快|加大|加强|推进|全面|探索|鼓励|支持|聚焦|是|和|在|将|成为|发展|健全|共同|大力|深入|持续|积极)"
)


@dataclass
class Candidate:
    name: str
    quote: str
    position: int
    quantity: float | None = None
    quantity_unit: str = ""
    chapter: str = ""
    section: str = ""
    reasons: list[str] = field(default_factory=list)


def extract(outline: Outline, table_span: Span | None = None) -> list[Candidate]:
    norm = outline.norm
    excluded = _excluded_spans(outline, table_span)
    out: list[Candidate] = []
    seen: set[str] = set()
    for sentence in _sentences(norm, heading_breaks(outline)):
        if _inside(sentence.start, excluded):
            continue
        for clause in _clauses(norm, sentence):
            text = norm[clause.start : clause.end]
            verb = VERB.search(text)
            if not verb:
                continue
            obj = text[verb.end() :]
            names = _objects(obj) or _objects(text[: verb.start()])
            if not names:
                continue
            quantity = next(
                (
                    q
                    for q in QUANTITY.finditer(text)
                    if (q.group("unit") or "") in COUNTED and q.group("unit")
                ),
                None,
            )
            context = outline.context(clause.start)
            for name in names:
                key = re.sub(r"(建设|工程|项目)$", "", name)
                if key in seen or len(key) < 4:
                    continue
                seen.add(key)
                candidate = Candidate(
                    name=name,
                    quote=outline.squashed[clause.start : clause.end],
                    position=clause.start,
                    chapter=spaced(context["chapter"]),
                    section=spaced(context["section"]),
                )
                if quantity and len(names) == 1:
                    candidate.quantity = float(re.split(r"[-~至—]", quantity.group("num"))[-1])
                    candidate.quantity_unit = quantity.group("unit")
                    if re.search(r"[-~至—]", quantity.group("num")):
                        candidate.reasons.append(
                            review_note(
                                f"区间（{quantity.group('num')}）：取上限",
                                f"a range ({quantity.group('num')}): the upper bound is taken",
                            )
                        )
                out.append(candidate)
    return out


def _objects(text: str) -> list[str]:
    """The facilities a clause names, one per item of a 、-list (the shared suffix added to each)."""
    text = re.sub(
        r"^(?:好|了|一座|一个|区域内|全区|高规格|高标准|大力|全力|加快|推进|推动|加强|协调|积极|持续|着力|加速|开展|南部|北部|东部|西部)+",
        "",
        text,
    )
    text = re.split(r"[，；。]", text)[0]
    text = re.sub(r"(?:等)?(?:\d+(?:\.\d+)?[-~至]?\d*[余多]?[处座条个所家项栋])", "", text)
    if not text or len(text) > 60 or re.search(r"一批|的", text):
        return []
    match = re.search(r"等(\S*)$", text)
    items = [i for i in re.split(r"[、]|和(?=\S{4,})", text[: match.start()] if match else text) if i]
    suffix = match.group(1) if match else ""
    if not items:
        return []
    names = []
    for item in items:
        name = item + suffix if suffix and not item.endswith(suffix) else item
        bare = re.sub(r"[（(][^）)]*[）)]$", "", name)
        if (
            NOUN.search(bare)
            and not NOT_PROJECTS.search(name)
            and not BAD_START.match(name)
            and len(bare) >= 5
        ):
            names.append(name)
    return names
