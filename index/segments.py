"""Step 2a: tell a page's furniture from its prose, line by line, before sentences are split.

Scraped news keeps link lines ("Read more:", "More:Headline"), captions and credits ("Getty Images",
"AP Photo/"), subheadings (a short line without end punctuation before a capitalised line) and
datelines ("LOUISVILLE, Ky. —", "Washington CNN —"). Each line of a paragraph is classified before the
hard-wrapped lines are joined (a wrapped line is never a heading: see `_is_heading`); only the prose is
indexed and quoted, so furniture can neither be shown nor glued to a quoted sentence. A dateline's
prefix is cut and its sentence kept. Words glued across a sentence end by the scraper
("story:Embattled", "here.Vegas") get their space back.

A prose line that the folder itself shows to be furniture (found in many unrelated articles: see
index/furniture.py) is passed in by its key (`line_key`) and stands alone as a REPEATED segment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

PROSE, HEADING, CUE, CAPTION, DATELINE = "prose", "heading", "cue", "caption", "dateline"
REPEATED = "repeated"  # a prose line found in many unrelated articles of the folder (index/furniture.py)
HEADING_MAX_WORDS = 16
LEAD_IN_MAX_WORDS = 10  # "Here's what you need to know:", "A look at the nominees:" before a list or section
LINK_MAX_WORDS = 30
CAPTION_MAX_WORDS = 60

# A line (or a sentence) that opens with one of these is a link, a call to action or a note to readers.
_CUE = re.compile(
    r"^[\"“'(]?(?:editor['’]?s['’]? note|read (?:more|the (?:full )?story|next|also)\b|more:|related:|"
    r"related (?:stories|articles|coverage)\b|see also\b|also read\b|sign[ -]up\b|subscribe\b|click here\b|"
    r"check your local forecast|where to watch:|follow (?:us|along)\b|watch:|watch live\b|listen:|"
    r"advertisement\b|story continues\b|(?:\()?(?:reporting|writing|editing|additional reporting) by\b|"
    r"copyright\b|©|getty images|ap photo\b|photos?:|image:|credit:|trending:|download the\b|"
    r"our fact-check\b|this (?:story|article|page) (?:has been|was|is being|reflects|recaps|will be)\b|"
    r"this is a developing story|the following contains\b|see the (?:photos|video|list)\b|play the usa today\b|"
    r"need a break\?|keep scrolling\b|on today['’]s episode\b|smart analysis delivered\b|join our\b|"
    r"looking to wager\?|spoiler alert\b|correction:|visit \S+\.[a-z]{2,4}\.?$|"
    r"a previous version of (?:this|the) (?:story|article|report|post|piece|column)\b|"
    r"check out\b|for the latest\b[^.]*\b(?:live updates|live coverage|updates file)|all rights reserved\b|"
    r"our standards:|updated \d{1,2}:\d\d\b|[^.]{0,60}\bcontributed to this report\.?$|"
    # a pointer elsewhere: "For the latest news, view our story for Friday", "Follow our live coverage from…",
    # "Here's a link to the full list", "More on the outbreak: <a related headline>"
    r"for the latest\b[^.]{0,100}?, (?:please )?(?:view|see|read|follow|visit|check|go to|head to|click)\b|"
    r"follow (?:our|[\w ]{1,25}['’]s) (?:[\w-]+ ){0,2}(?:coverage|updates|blog|file)\b|here(?:['’]s| is) a link\b|"
    r"more (?:on|about) [^.:]{1,40}:(?!/)|corrections? (?:and|&) clarifications?:|"
    # a pointer to a link: "Check them out here.", "See the full list of nominations here, as well as…" (the
    # verb before a space, no finite verb on the way: "Watch parties were held here", "Read, 45, lived here")
    r"(?:check|see|find|read|watch|view|listen to) (?![^.!?]*?\b(?:was|were|is|are|has|have|had|lived|moved)\b)"
    r"[^.!?]{0,120}?\bhere\s*(?:[.,:;!)]|$)|"
    r"catch up (?:with|on)\b[^.!?]{0,100}\b(?:coverage|updates)\b)",
    re.IGNORECASE,
)
# A paragraph that opens as a corrections note is the note, every sentence of it ("CORRECTION: … A previous
# version of the story listed it as a campground.").
_NOTE = re.compile(
    r"^[\"“'(]?(?:corrections?(?: ?(?:/|and|&) ?clarifications?)?|clarifications?)\s*:\s*[\"“']?[^\W\d_]", re.IGNORECASE
)
# An outlet promising updates to its readers: "USA TODAY Sports will provide the latest bracket updates …
# throughout the day.", "We will keep you updated." Its subject capitalised or "We" ("The company will…" is
# news), live updates or the latest ones throughout ("Apple will provide the latest security updates until
# 2027" is news; "ESPN will provide live coverage … from 3 p.m." is when to watch).
_PROMISE = re.compile(
    r"^(?:We|(?!I )[A-Z][\w.'’&-]*(?: [A-Z][\w.'’&-]*){0,4}) will (?:keep (?:you|readers|fans) "
    r"(?:updated|posted|informed)|(?:provide|bring you|have) live updates\b|"
    r"(?:provide|bring you|have) the latest\b[^.!?]{0,100}?\bupdates\b[^.!?]{0,100}?\bthroughout\b)"
)
# The writer or host introducing themselves, outside quotation marks: a newsletter's "🙋 I'm Ana Ruiz, Daily
# Briefing author.", a podcast's "I'm Ana Ruiz, and this is 5 Things".
_INTRODUCTION = re.compile(
    r"^[^\w\"“'‘—–-]{0,8}(?:(?:Hi|Hey|Hello|Good (?:morning|afternoon|evening)),? )?"
    r"I['’]m [A-Z][\w.'’-]+ [A-Z][\w'’-]+(?:[.,!]| and\b|$)"
)
# A byline standing alone ("— Ana Ruiz", "– Ana Ruiz and Teo Brandt, USA TODAY"): a dash, then only
# capitalised words (and the joints of a list of names), no end mark ("— Ana Ruiz." is an item of a list
# of honorees).
_NAME_WORD = r"(?:[A-Z][\w.'’-]*|and|&|of|the|de|da|van|von|la|le|del)"
_BYLINE = re.compile(rf"[—–] ?{_NAME_WORD}(?:,? {_NAME_WORD}){{0,11}}(?<!\.)")
# A live blog's byline after an entry's last sentence: "…a 1-0 win. — Ana Ruiz"
_SIGNED = re.compile(r"[.!?][\"'”’]*\s?$")
# A credit anywhere in a short paragraph makes it a caption.
_CREDIT = re.compile(
    r"getty images|ap photo/|\(ap photo|photo by\b|/reuters\b|reuters/|/afp\b|/ap\b|courtesy of\b", re.I
)
# A reporter's contact line or a newsletter pitch, anywhere in a short line.
_CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+\.[a-z]{2,}|^(?:contact|follow|reach)\b.*(?:@\w|twitter|instagram|threads|facebook)|"
    r"\bnewsletter\b|\bsign up\b|^contributing:|wire reports\.?$",
    re.I,
)
CONTACT_MAX_WORDS = 40
_END_PUNCTUATION = re.compile(r"[.!?…؟:;,][\"'”’»)\]]*$")
_CASED_START = re.compile(r"^[\"'“‘«(]*[A-Z0-9\u0400-\u042f]")

_WORD = r"[A-Z][\w.'’/\-]*"
_CAPS = r"[A-Z][A-Z.'’/\-]+"
_REGION = rf"(?:, {_WORD}(?: {_WORD}){{0,2}})?(?:,? [A-Z][a-z]{{2,3}}\.? \d{{1,2}})?"  # ", Ky.", ", Aug 27"
_AGENCY = r"\(?(?:CNN(?: Business| Spanish| Politics)?|AP|Reuters|AFP|UPI)\)?"
# "CNN —", "Seoul, South Korea CNN —", "NEW YORK (AP) —", "LOUISVILLE, Ky. —", "WASHINGTON—", "KYIV, Aug 27
# (Reuters) -", "SAN DIEGO −" (a minus sign), "WASHINGTON ― " (a horizontal bar, U+2015)
_DATE = r"[A-Z][a-z]{2,3}\.? \d{1,2}"  # "Dec 2", "Aug. 27"
# ..., "Dec 2 (Reuters) -" (no city), and "BERLIN: Germany remained…" (a colon, before a capital)
DATELINE_PREFIX = re.compile(
    rf"^(?:(?:(?:{_WORD}(?: {_WORD}){{0,3}}{_REGION}|{_DATE}) )?{_AGENCY}|{_CAPS}(?: {_CAPS}){{0,3}}{_REGION})"
    r" ?(?:[—–−―]|--?)(?: |$|(?=[A-Z]))"
    rf"|^{_CAPS}(?: {_CAPS}){{0,2}}: (?=[A-Z])"
)
# A related-story link: "Boeing strike:Machinists vote", "What is it?What to know", "Jones,acclaimed actor, dies",
# "Tram fares:12 ways to ride…" (a number and a word: "Opened in:1911" is a fact box's line)
_GLUED_LINK = re.compile(r"[^\W\d_][:?!][\"'‘“]?[^\W\d_]|[^\W\d_]:\d[\d.,]* [^\W\d_]|[a-z],[a-z]")
# A related-story link with its teaser, end marks and all: a short label glued to the headline by a colon,
# "Student loans:Should you refinance?", "Kamala Harris:Liberals saw Harris as a unique champion. Lately…".
# Not a list's item ("• NHL playing record:Played 12 games…" is a fact of a biography), nor speech ("The mayor
# told reporters:We will rebuild").
_GLUED_LABEL = re.compile(
    r"^(?![•*·—–-])(?![^:]*\b(?:said|says|told|tells|wrote|writes|added|asked|stated|tweeted)\b)"
    r"[^:.!?]{2,59}[a-z0-9'’)]:[\"'‘“]?[A-Z][a-z]"
)
# "story:Embattled", "here.Vegas": a lower-case word, an end mark, a capitalised word, no space; not in an
# address (www.Norvik.no, x.com/News: a slash, an @ or a dot before the mark or after the word).
_GLUED = re.compile(r"(?<![\w./@])([^\W\d_]*[a-z][a-z])([.!?:])([A-Z][a-z]*)(?![\w./@])")
# A bare answer opening the paragraph under a question subheading ("Did the ban pass?" / "No. The House…"):
# without its subheading it answers nothing, so it goes with it ("No. 1" is a rank, not an answer).
_BARE_ANSWER = re.compile(r"^(?:Yes|No|Nope|Yep|Yeah|Not yet|Not really|Maybe)[.!](?:\s+(?=[^\d\s])|$)")
# A second sentence on the line: a cue line that goes on with news is left to the sentence-level check.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+[\"“‘]?[A-Z]")


@dataclass(frozen=True)
class Segment:
    """A run of one paragraph's lines of one kind: prose (indexed and quoted) or furniture (neither)."""

    kind: str
    text: str

    @property
    def is_prose(self) -> bool:
        return self.kind == PROSE


def unglue(text: str) -> str:
    """Give back the space a scraper dropped after an end mark: "story:Embattled" -> "story: Embattled"."""
    return _GLUED.sub(r"\1\2 \3", text)


def strip_dateline(text: str) -> str:
    """Cut a dateline prefix ("LOUISVILLE, Ky. — At least…" -> "At least…"); other text is returned as is."""
    match = DATELINE_PREFIX.match(text)
    if not match:
        return text
    rest = text[match.end() :]
    return rest if not rest or _CASED_START.match(rest) else text


def is_cue(text: str) -> bool:
    """A link line, a call to action, a note to readers, a writer introducing themselves or a byline (also
    as one sentence of a paragraph)."""
    return bool(_CUE.match(text) or _INTRODUCTION.match(text) or _PROMISE.match(text) or _BYLINE.fullmatch(text))


def strip_byline(text: str) -> str:
    """Cut a live blog's byline after a sentence ("…a 1-0 win. — Ana Ruiz" -> "…a 1-0 win."); other text is
    returned as is."""
    cut = max(text.rfind("—"), text.rfind("–"))
    if cut > 0 and _BYLINE.fullmatch(text[cut:].rstrip()) and _SIGNED.search(text[:cut]):
        return text[:cut].rstrip()
    return text


def _is_heading(line: str, previous: str | None, following: str | None, wrapped_next: bool) -> bool:
    """A short line without end punctuation (or a short question) followed by a capitalised line, and not
    the answer to a question just asked (a quiz's "Arcturus"). Inside a hard-wrapped paragraph the line must
    also be less than half as long as the next one, since wrapped lines run to the wrap width."""
    if following is None or not _CASED_START.match(following) or (previous or "").endswith("?"):
        return False
    words = line.split()
    if len(words) > HEADING_MAX_WORDS:
        return False
    if wrapped_next and len(line) * 2 > len(following):
        return False
    if line.endswith("?"):  # a question heads a paragraph that answers it, not a quiz's one-word answer
        return line[:1] not in "\"'“‘" and bool(_END_PUNCTUATION.search(following))
    if line.endswith(":"):  # a short lead-in to a list or a section
        return len(words) <= LEAD_IN_MAX_WORDS and not _SENTENCE_END.search(line)
    return not _END_PUNCTUATION.search(line)


def _is_link(line: str) -> bool:
    """A headline linking to another story: a mark glued to the next word and no end punctuation, or a label
    glued to its headline."""
    if len(line.split()) > LINK_MAX_WORDS:
        return False
    return bool(_GLUED_LABEL.match(line)) or (not _END_PUNCTUATION.search(line) and bool(_GLUED_LINK.search(line)))


def _is_contact(line: str) -> bool:
    """A reporter's address or handle, a newsletter pitch, a "Contributing:" credit: short, whole line."""
    return len(line.split()) <= CONTACT_MAX_WORDS and bool(_CONTACT.search(line))


def _kind(raw: str, line: str, previous: str | None, following: str | None, wrapped_next: bool, opens: bool) -> str:
    """The kind of one line (`raw` as written, `line` with glued words split)."""
    if opens and is_cue(line) and not _SENTENCE_END.search(line):
        return CUE
    if opens and not wrapped_next and (_is_link(raw) or _is_contact(line)):
        return CUE
    if opens and strip_dateline(line) == "":
        return DATELINE
    if opens and _CREDIT.search(line) and len(line.split()) <= CAPTION_MAX_WORDS:
        return CAPTION
    if opens and _is_heading(line, previous, following, wrapped_next):
        return HEADING
    return PROSE


def _lines(paragraphs: tuple[str, ...] | list[str]) -> Iterator[tuple[int, str, str, str]]:
    """(paragraph number, kind, line as written, line with glued words split) of every line, classified by
    the rules alone."""
    lines = [[line.strip() for line in p.split("\n") if line.strip()] for p in paragraphs]
    for number, own in enumerate(lines):
        note = bool(own) and bool(_NOTE.match(own[0]))  # a corrections note, up to the next block
        for i, raw in enumerate(own):
            line = unglue(raw)
            within = i + 1 < len(own)
            following = own[i + 1] if within else next((p[0] for p in lines[number + 1 :] if p), None)
            previous = own[i - 1] if i else next((p[-1] for p in reversed(lines[:number]) if p), None)
            # A line opens a block when it starts the paragraph or the line before it ended a sentence.
            opens = i == 0 or bool(_END_PUNCTUATION.search(own[i - 1]))
            note = note and (i == 0 or not opens)
            yield number, CUE if note else _kind(raw, line, previous, following, within, opens), raw, line


_NOT_WORD = re.compile(r"[^\w\s]|_")  # punctuation, symbols


def normalise_line(text: str) -> str:
    """A line as CCNet compares lines, but with its digits kept: lower case, punctuation and symbols
    dropped (as spaces, so that "story:Embattled" and "story: Embattled" are one line), white space
    collapsed. CCNet turns every digit into 0; in news a line that differs only in its numbers is another
    fact (wire earnings lines: "Shr 39 cts vs 50 cts" in 759 of Reuters' 1987 articles that way)."""
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def line_key(text: str) -> int | None:
    """A line's key: 64 bits of the hash of its normalised text, as a signed integer (an SQLite INTEGER);
    None for a line with nothing left to compare."""
    normalised = normalise_line(text)
    if not normalised:
        return None
    return int.from_bytes(hashlib.blake2b(normalised.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def line_keys(paragraphs: tuple[str, ...] | list[str]) -> tuple[int, ...]:
    """The keys of the lines of an article's body, once each, in ascending order: what the folder's line
    counts count. Every line is counted, as CCNet does: telling prose from furniture takes three times as
    long as reading the article, and only a prose line's count ever matters (the others are furniture
    anyway); the normalisation already makes a glued "story:Embattled" the same line as "story: Embattled"."""
    keys = {line_key(line) for p in paragraphs for line in p.split("\n")}
    keys.discard(None)
    return tuple(sorted(keys))


def article_segments(
    paragraphs: tuple[str, ...] | list[str], furniture: frozenset[int] | set[int] = frozenset()
) -> list[list[Segment]]:
    """Each paragraph's segments, in order. A paragraph holds its hard-wrapped lines separated by "\\n";
    wrapped prose lines are joined with a space, furniture lines stand alone. A prose line whose key is in
    `furniture` is furniture (REPEATED)."""
    out: list[list[Segment]] = [[] for _ in paragraphs]
    asked = False  # the line before was a question subheading
    for number, kind, raw, line in _lines(paragraphs):
        segments = out[number]
        if kind == PROSE and furniture and line_key(raw) in furniture:
            kind = REPEATED
        answer = _BARE_ANSWER.match(line) if kind == PROSE and asked else None
        asked = kind == HEADING and line.endswith("?")
        if answer:
            segments.append(Segment(HEADING, answer.group().strip()))
            line = line[answer.end() :]
            if not line:
                continue
        if kind == PROSE and segments and segments[-1].is_prose:
            segments[-1] = Segment(PROSE, segments[-1].text + " " + line)
        else:
            segments.append(Segment(kind, strip_dateline(line) if kind == PROSE else line))
    return out
