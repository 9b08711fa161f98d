"""Quantified targets written in the outline's prose (到20XX年 … 达到 X; …期间累计 … X; 每年新增 … X).

The text is cut into sentences (。；) and clauses (，：、 where each part carries its own number). A
clause states a target when a number with a unit follows a target verb (达到, 突破, 超过, 提高到, 控制在,
新增, 培育 …) or is qualified as a bound (以上, 以内, 不低于 …); word targets are read too (双过半 = two
shares above 50%, 零突破 = at least 1, 零增长 = at most 0, 前十 = rank ≤ 10, 百亿级 = 100 亿元). A year
marker (到2023年) governs the rest of its sentence; without one the plan's end year is assumed and
said. What describes the past (the review of the previous plan, 十三五 figures) and the 2035 vision
is skipped, and so are the main table's own indicators when the prose repeats them.

Every statement keeps its exact quote (a substring of the whitespace-free text) and, where a person
must look, a reason: a range (the lower bound is taken), 左右/余 (approximate), no unit, no number,
an assumed year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import review_note
from .outline import CN_DIGITS, Outline, spaced

PAST_HEADINGS = re.compile(r"过去|成效|回顾|成就|发展基础|发展环境|发展形势|面临|机遇|挑战|现状")
PAST_MARKERS = re.compile(r"十[三二]五|过去五年|截至20\d\d|20[01]\d年末?(?:达到|完成)|已经|已达")
YEAR_MARKER = re.compile(r"(?:到|至|于|在)?(20\d\d)年(?:底|末|前)?(?:[，,]|实现|达到|全面|基本|力争)")
VISION_MARKER = re.compile(r"(?:到|至)(20\d\d)年")
CUMULATIVE = re.compile(r"累计|五年内|\d年内|期间|新增|新建|新投运|培养|引进|完成\d")
ANNUAL = re.compile(r"每年|年均新增")
VERBS = (
    "达到|突破|超过|提高到|提升到|提高至|提升至|增加到|增加至|增至|增长到|降低到|降至|下降到|下降至|控制在|保持在|稳定在|"
    "不低于|不少于|不高于|不超过|至少|累计|新增|培育|引进|建设|建成|打造|创建|完成|实现|培养|集聚|引育|改造|修复|"
    "新建|扩建|配建|设立|配备|推广|吸引|招引|提高|提升|降低|下降|减少|增长|增加|开工|供给|举办|发展|认定|入驻|落地|拥有|达"
)
VERB = re.compile(VERBS)
GREATER = re.compile(r"突破|超过|高于|多于")
AT_LEAST = re.compile(r"达到|提高到|提升到|提高至|提升至|增加到|增至|增长到|不低于|不少于|至少|以上")
AT_MOST = re.compile(r"控制在|不高于|不超过|以内|以下|降低到|降至|下降到|下降至")
UNITS = sorted(
    [
        "个百分点",
        "百分点",
        "万平方米",
        "平方米",
        "平方公里",
        "亿美元",
        "万美元",
        "亿元",
        "万元",
        "元",
        "%",
        "‰",
        "万人次",
        "人次",
        "万人",
        "万户",
        "人",
        "名",
        "家",
        "个",
        "座",
        "条",
        "项",
        "所",
        "处",
        "套",
        "万亩",
        "亩",
        "公顷",
        "公里",
        "千米",
        "栋",
        "户",
        "张",
        "辆",
        "床",
        "件",
        "岁",
        "倍",
        "万吨",
        "吨",
        "兆瓦",
        "万千瓦",
        "千瓦",
        "立方米",
        "场",
        "批",
        "支",
        "台",
        "部",
        "次",
        "间",
        "只",
        "位",
        "类",
    ],
    key=len,
    reverse=True,
)
NUMBER = r"\d+(?:\.\d+)?(?:[-~至—]\d+(?:\.\d+)?)?"
QUANTITY = re.compile(
    rf"(?<![\d.A-Za-z第R号])(?P<num>{NUMBER})(?P<approx>余|多)?(?P<unit>(?:万|亿)?(?:{'|'.join(map(re.escape, UNITS))}))?"
    r"(?P<bound>以上|以内|以下|左右|及以上)?"
)
# numbers that name a thing rather than count it
SPEC_AFTER = re.compile(
    r"^(?:强|号|千伏|kV|分钟|G|年|月|日|周|期|级|大|型|类|层|星|A|项目|条例|\+|岁[幼儿婴]|后)"
)
CN_NUMBER = re.compile(rf"([{CN_DIGITS}]+)(亿元|万元|元|个|家|条|座|所|处|项|名|人)")
FACILITY = re.compile(
    r"变电站|道路|路段|桥梁|隧道|管网|管道|山体|片区|街区|园区|集聚区|医院|院区|中小学|学校|幼儿园|楼宇|场馆|展览馆|博物馆|"
    r"停车场|公园|绿道|河道|小区|酒店|民宿|轨道|地铁|线路工程|工程|项目|厂"
)
CONSTRUCTION = re.compile(r"建设|新建|扩建|改扩建|改造|修复|治理|建成|实施|开工|配建|清淤|续建|迁建")
COUNTED = {
    "处",
    "座",
    "条",
    "个",
    "所",
    "公里",
    "千米",
    "平方米",
    "万平方米",
    "栋",
    "套",
    "项",
    "家",
    "亩",
    "万亩",
}
LEADING = re.compile(
    r"^(?:到20\d\d年(?:底|末)?|至20\d\d年|全区|全市|力争|争取|确保|重点(?=培育|建设|打造|发展|推进|实施)|大力|进一步|基本|"
    r"逐步|加快|其中|同时|并|每年|"
    r"实现|推动|积极|努力|持续|着力|“十[四五六]五”(?:时期|期间)?|十[四五六]五(?:时期|期间)?|期间)+"
)


def cn_to_int(text: str) -> int | None:
    """一 … 九千九百九十九 (and 两, 〇); None when it is not a plain Chinese numeral."""
    digits = {
        "零": 0,
        "〇": 0,
        "一": 1,
        "二": 2,
        "两": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
    }
    units = {"十": 10, "百": 100, "千": 1000}
    total, current = 0, 0
    if not text or any(c not in digits and c not in units for c in text):
        return None
    for char in text:
        if char in digits:
            current = digits[char]
        else:
            total += (current or 1) * units[char]
            current = 0
    return total + current


@dataclass
class Statement:
    value: float | None
    unit: str
    operator: str
    year: int
    name: str
    quote: str  # original characters, whitespace removed
    position: int  # in squashed
    value_text: str
    is_cumulative: bool = False
    basis: str = "level"
    direction: str = "higher_is_better"
    reasons: list[str] = field(default_factory=list)
    year_assumed: bool = False
    kind: str = "target"  # target | project
    chapter: str = ""
    section: str = ""
    topic: str = ""


@dataclass
class Span:
    start: int
    end: int


def _excluded_spans(outline: Outline, table_span: Span | None) -> list[Span]:
    spans: list[Span] = []
    heads = outline.headings
    for index, heading in enumerate(heads):
        if heading.level not in ("chapter", "section", "part") or not PAST_HEADINGS.search(heading.title):
            continue
        end = len(outline.squashed)
        rank = {"part": 0, "chapter": 1, "section": 2}[heading.level]
        for later in heads[index + 1 :]:
            if (
                later.level in ("part", "chapter", "section")
                and {"part": 0, "chapter": 1, "section": 2}[later.level] <= rank
            ):
                end = later.position
                break
        spans.append(Span(heading.position, end))
    if table_span:
        spans.append(table_span)
    # the preamble before the first chapter describes the document, not targets
    first = next((h.position for h in heads if h.level in ("part", "chapter")), 0)
    if first:
        spans.append(Span(0, first))
    return spans


def _inside(position: int, spans: list[Span]) -> bool:
    return any(s.start <= position < s.end for s in spans)


def _sentences(norm: str, breaks: list[int] | None = None) -> list[Span]:
    """Sentences end at 。；！？ and at headings (a heading line has no full stop of its own)."""
    cuts = {m.end() for m in re.finditer(r"[。；！？]", norm)} | set(breaks or [])
    out, start = [], 0
    for cut in sorted(cuts):
        if start < cut <= len(norm):
            out.append(Span(start, cut))
            start = cut
    if start < len(norm):
        out.append(Span(start, len(norm)))
    return out


def heading_breaks(outline: Outline) -> list[int]:
    return sorted(
        {h.position for h in outline.headings} | {h.position + len(h.title) for h in outline.headings}
    )


def _clauses(norm: str, sentence: Span) -> list[Span]:
    out, start = [], sentence.start
    for match in re.finditer(r"[，,：:；。]", norm[sentence.start : sentence.end]):
        end = sentence.start + match.start()
        if end > start:
            out.append(Span(start, end))
        start = sentence.start + match.end()
    if start < sentence.end:
        out.append(Span(start, sentence.end))
    return out


def _list_parts(norm: str, clause: Span) -> list[tuple[Span, bool]]:
    """A clause listing several targets with their own numbers (…100人以上、…超过500人) splits at 、;
    the parts after the first inherit its verb (5年一周期培养青年骨干教师300名、专家型教师50名)."""
    text = norm[clause.start : clause.end]
    pieces = list(re.finditer(r"[^、]+", text))

    def counted(piece: str) -> bool:
        return any(q.group("unit") or q.group("bound") for q in QUANTITY.finditer(piece) if _counts(piece, q))

    numbered = [counted(p.group(0)) for p in pieces]
    if len(pieces) > 1 and sum(numbered) > 1 and "分别" not in text and "均" not in text:
        spans: list[tuple[Span, bool]] = []
        start = 0
        for index, (piece, has_number) in enumerate(zip(pieces, numbered, strict=True)):
            if not has_number and index < len(pieces) - 1:
                continue  # a name without its number (名校长、名师…60名): joins the next part
            spans.append((Span(clause.start + start, clause.start + piece.end()), index > 0))
            start = piece.end() + 1
        return spans
    return [(clause, False)]


def _counts(text: str, q: re.Match) -> bool:
    """A number that counts something (not a year, a duration, or part of a name)."""
    if (q.group("unit") or "") in ("",) and text[q.end("num") : q.end("num") + 1] in ("年", "月", "日"):
        return False
    return not SPEC_AFTER.match(text[q.end("num") :]) or bool(q.group("unit"))


def extract(
    outline: Outline,
    plan_start: int,
    plan_end: int,
    table_span: Span | None = None,
) -> list[Statement]:
    norm = outline.norm
    excluded = _excluded_spans(outline, table_span)
    found: list[Statement] = []
    topic = ""
    for sentence in _sentences(norm, heading_breaks(outline)):
        text = norm[sentence.start : sentence.end]
        if len(text) <= 18 and "，" not in text and not re.search(r"\d", text):
            topic = text.rstrip("。；").strip("（）()一二三四五六七八九十、")
        if _inside(sentence.start, excluded):
            continue
        if PAST_MARKERS.search(text) and not VISION_MARKER.search(text):
            continue
        year: int | None = None
        for clause in _clauses(norm, sentence):
            ctext = norm[clause.start : clause.end]
            marker = VISION_MARKER.search(ctext)
            if marker:
                year = int(marker.group(1))
                if ctext.strip() == marker.group(0).strip() or re.fullmatch(
                    r"(?:到|至)20\d\d年(?:底|末)?", ctext
                ):
                    continue
            if year is not None and year > plan_end:
                continue  # the long-range vision (到2035年) is not monitored by this plan
            for part, inherit in _list_parts(norm, clause):
                found.extend(_targets_in(outline, part, year, plan_end, topic, inherit))
    return _dedupe(found)


def _targets_in(
    outline: Outline, part: Span, year: int | None, plan_end: int, topic: str, inherit: bool = False
) -> list[Statement]:
    norm = outline.norm
    text = norm[part.start : part.end]
    quote = outline.squashed[part.start : part.end]
    context = outline.context(part.start)
    made: list[Statement] = []

    def make(value, unit, operator, name, value_text, reasons, direction="higher_is_better") -> Statement:
        statement = Statement(
            value=value,
            unit=unit,
            operator=operator,
            year=year or plan_end,
            name=name,
            quote=quote,
            position=part.start,
            value_text=value_text,
            reasons=list(reasons),
            year_assumed=year is None,
            direction=direction,
            chapter=spaced(context["chapter"]),
            section=spaced(context["section"]),
            topic=topic,
        )
        statement.is_cumulative = bool(CUMULATIVE.search(text)) and "累计达到" not in text
        statement.basis = "annual" if ANNUAL.search(text) else "level"
        if year is None:
            statement.reasons.append(
                review_note(
                    f"句中无年份：按规划末年 {plan_end} 年处理",
                    f"no year in the sentence: the plan's end year {plan_end} assumed",
                )
            )
        return statement

    # word targets
    if "双过半" in text:
        subject = _subject(text, text.index("实现") if "实现" in text else text.index("双过半"))
        names = _split_names(subject)
        return [
            make(
                50.0,
                "%",
                ">",
                n,
                "实现“双过半”",
                [review_note("双过半：两项占比均超过 50%", "双过半: each share above 50%")],
            )
            for n in names
        ]
    if "零突破" in text:
        subject = _subject(text, text.index("零突破"))
        return [
            make(
                1.0,
                "家",
                ">=",
                subject,
                "实现零突破",
                [review_note("零突破：至少一个", "零突破: at least one")],
            )
        ]
    if "零增长" in text:
        subject = _subject(text, text.index("零增长"))
        return [
            make(
                0.0,
                "%",
                "<=",
                subject + "增长",
                "零增长",
                [review_note("零增长：增长不超过 0", "零增长: growth at most 0")],
                "lower_is_better",
            )
        ]
    rank = re.search(r"前(十|\d+)(?:强|名|位)", text)
    if rank and re.search(VERBS + "|进入|跻身|位居|位列|保持", text[: rank.start()]):
        value = float(cn_to_int(rank.group(1)) or rank.group(1))
        subject = _subject(text, rank.start())
        return [
            make(
                value,
                "名",
                "<=",
                subject + "排名",
                rank.group(0),
                [review_note("位次：越小越好", "a rank: lower is better")],
                "lower_is_better",
            )
        ]

    quantities = [q for q in QUANTITY.finditer(text) if _is_target_quantity(text, q, inherit)]
    # a quantity inside the subject (5000平方米以上楼宇数量达到300座) qualifies it: the target comes after
    quantities = [
        q
        for i, q in enumerate(quantities)
        if not any(VERB.search(text[q.end() : later.start()]) for later in quantities[i + 1 :])
    ]
    cn = [
        m
        for m in CN_NUMBER.finditer(text)
        if cn_to_int(m.group(1))
        and VERB.search(text[max(0, m.start() - 4) : m.start()])
        and text[m.end() : m.end() + 1] not in ("一", "“")
    ]
    respectively = "分别" in text
    if respectively and quantities:
        names = _split_names(_subject(text, text.index("分别")))
        if len(names) == len(quantities):
            return [_made(make, text, q, n) for n, q in zip(names, quantities, strict=True)]
    if respectively and cn and not quantities:
        names = _split_names(_subject(text, text.index("分别")))
        m = cn[0]
        value = float(cn_to_int(m.group(1)))
        operator = ">" if GREATER.search(text) else ">="
        return [make(value, m.group(2), operator, n, m.group(0), []) for n in names]
    both = re.search(r"[均都]达到", text)
    if both and quantities:
        names = _split_names(_subject(text, both.start()))
        return [_made(make, text, quantities[0], n) for n in names]
    for q in quantities:
        value, unit, operator, direction = _value(text, q)
        name = _subject(text, q.start()) or _object(text, q)
        statement = make(value, unit, operator, name, q.group(0), _reasons(q), direction)
        if not unit:
            statement.reasons.append(
                review_note("数字后未印单位：请填写单位", "no unit printed after the number: set the unit")
            )
        if (
            unit in COUNTED
            and FACILITY.search(text[q.end() : q.end() + 24] + text[: q.start()])
            and CONSTRUCTION.search(text)
        ):
            statement.kind = "project"
        made.append(statement)
    if not made and cn:
        m = cn[0]
        value = float(cn_to_int(m.group(1)))
        unit = m.group(2)
        if text[m.end() : m.end() + 1] == "级":  # 百亿级规模
            unit = "亿元"
        operator = ">" if GREATER.search(text[: m.start()]) else ">="
        made.append(make(value, unit, operator, _subject(text, m.start()), m.group(0), []))
    if not made and re.search(r"亿级", text) and _verb_before(text, text.index("亿级")):
        m = re.search(rf"([{CN_DIGITS}]+)亿级", text)
        if m and cn_to_int(m.group(1)):
            made.append(
                make(
                    float(cn_to_int(m.group(1))),
                    "亿元",
                    ">=",
                    _subject(text, m.start()),
                    m.group(0),
                    [review_note("亿级：以亿元计", "亿级: in 亿元")],
                )
            )
    return made


def _made(make, text: str, q: re.Match, name: str) -> Statement:
    value, unit, operator, direction = _value(text, q)
    return make(value, unit, operator, name, q.group(0), _reasons(q), direction)


def _verb_before(text: str, position: int) -> bool:
    return VERB.search(text[:position]) is not None


def _is_target_quantity(text: str, q: re.Match, inherit: bool = False) -> bool:
    num = q.group("num")
    after = text[q.end() : q.end() + 3]
    before = text[max(0, q.start() - 2) : q.start()]
    if re.fullmatch(r"20\d\d", num) and (q.group("unit") in (None, "") and after.startswith("年")):
        return False
    if SPEC_AFTER.match(text[q.end("num") :]) and not q.group("unit"):
        return False
    if q.group("unit") in ("岁",) and re.search(r"[-~至]", num):
        return False
    if before.endswith(("第", "前", "R", "号", "约")) and not before.endswith("约"):
        return False
    if not q.group("unit") and not q.group("bound"):
        return False  # a bare number (a code, a name) is not a target
    if q.group("unit") and SPEC_AFTER.match(text[q.end("unit") :]) and q.group("unit") in ("个", "大", "项"):
        return False
    return inherit or _verb_before(text, q.start()) or bool(q.group("bound"))


def _value(text: str, q: re.Match) -> tuple[float, str, str, str]:
    num = q.group("num")
    low = float(re.split(r"[-~至—]", num)[0])
    unit = q.group("unit") or ""
    if unit == "百分点":
        unit = "个百分点"
    unit = "百分点" if unit == "个百分点" else unit
    head = text[: q.start()]
    bound = q.group("bound") or ""
    if AT_MOST.search(head[-8:] + bound) and not AT_LEAST.search(bound):
        return low, unit, "<=", "lower_is_better"
    if bound in ("以上", "及以上"):
        return low, unit, ">=", "higher_is_better"
    if GREATER.search(head[-10:]):
        return low, unit, ">", "higher_is_better"
    if re.search(r"降低|下降|减少", head[-6:]):
        return low, unit, ">=", "higher_is_better"
    return low, unit, ">=", "higher_is_better"


def _reasons(q: re.Match) -> list[str]:
    reasons = []
    if re.search(r"[-~至—]", q.group("num")):
        reasons.append(
            review_note(
                f"区间（{q.group('num')}）：取下限", f"a range ({q.group('num')}): the lower bound is taken"
            )
        )
    if q.group("approx"):
        reasons.append(
            review_note(
                f"{q.group('approx')}：约数，按“不低于”读取",
                f"{q.group('approx')}: an approximate number, read as 'at least'",
            )
        )
    if q.group("bound") == "左右":
        reasons.append(
            review_note("左右：约数目标，按“不低于”读取", "左右: an approximate target, read as 'at least'")
        )
    return reasons


def _subject(text: str, position: int) -> str:
    """What the clause says something about: the words before the verb, without leading adverbs."""
    head = LEADING.sub("", text[:position]).strip("，、：“”")
    verbs = list(VERB.finditer(head))
    if not verbs:
        return _trim(head)
    before = head[: verbs[-1].start()]
    if before.endswith("年均") and len(before) > 2:  # 物流业增加值年均增长8%: a growth rate
        return _trim(before[:-2]) + "年均增速"
    subject = _trim(before)
    rest = VERB.sub("", head)
    # verbs and a stray character (新建改|扩建社区食堂) are a verb chain cut inside a word, not a subject
    if len(VERB.sub("", subject)) >= 2 or (
        len(subject) >= 2 and not VERB.fullmatch(subject) and len(rest) < 2
    ):
        return subject
    # the verb opens the clause (累计新增城镇就业10万人): the verb phrase is the name, unless it is only a verb
    return _trim(head) if len(rest) >= 2 else ""


def _trim(text: str) -> str:
    text = LEADING.sub("", text)
    text = re.sub(r"(?:要|将|须|必须|应|力争|争取|确保|分别|均|都|的|至少|不少于|不低于)+$", "", text)
    return text.strip("，、：“”")


def _object(text: str, q: re.Match) -> str:
    tail = text[q.end() :]
    tail = re.split(r"[，。；、]", tail)[0]
    tail = re.sub(r"^(?:以上|以内|左右|的)", "", tail)
    unit = q.group("unit") or ""
    counted = unit in (
        "家",
        "个",
        "座",
        "条",
        "项",
        "所",
        "处",
        "套",
        "名",
        "人",
        "栋",
        "户",
        "张",
        "辆",
        "床",
        "件",
    )
    return (tail[:30] + ("数量" if counted and not tail.endswith(("数", "数量")) else "")) if tail else ""


def _split_names(subject: str) -> list[str]:
    """`金融业增加值、金融业税收占全市比重` → both names, the shared tail added to each."""
    # 及 inside a word (普及率, 及时率, 涉及) is not a conjunction
    parts = [p for p in re.split(r"、|和|与|以及|(?<![普涉])及(?![时格])", subject) if p]
    if len(parts) < 2:
        return [subject]
    last = parts[-1]
    shared = ""
    for tail in (
        "占全市比重",
        "占全区比重",
        "比重",
        "覆盖率",
        "普及率",
        "知晓率",
        "总部企业数量",
        "产业规模",
        "规模",
        "数量",
    ):
        if last.endswith(tail) and len(last) > len(tail):
            shared = tail
            break
    names = []
    for part in parts:
        if shared and not part.endswith(shared):
            # 普及率、知晓率: keep the head of the first name for the second
            names.append(part + shared if not part.endswith("率") else part)
        else:
            names.append(part)
    if names and all(n.endswith("率") for n in names) and len(names[0]) > 3:
        stem = re.sub(r"..率$", "", names[0])
        names = [names[0]] + [stem + n if len(n) <= 3 else n for n in names[1:]]
    return names


def _dedupe(found: list[Statement]) -> list[Statement]:
    """The same target stated twice (in the goals and again in its chapter): keep the fuller name."""
    out: list[Statement] = []
    for statement in found:
        twin = next(
            (
                s
                for s in out
                if s.value == statement.value
                and s.unit == statement.unit
                and s.year == statement.year
                and s.quote != statement.quote
                and _similar(s.name, statement.name)
            ),
            None,
        )
        if twin is None:
            out.append(statement)
            continue
        if len(statement.name) > len(twin.name):
            statement.reasons.append(review_note(f"另见表述：{twin.quote}", f"also stated as: {twin.quote}"))
            out[out.index(twin)] = statement
        else:
            twin.reasons.append(
                review_note(f"另见表述：{statement.quote}", f"also stated as: {statement.quote}")
            )
    return out


def _similar(a: str, b: str) -> bool:
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    common = sum(1 for c in set(short) if c in long_)
    return short in long_ or (len(set(short)) >= 3 and common >= 0.9 * len(set(short)))
