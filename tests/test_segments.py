"""Page furniture is told from prose before sentences are split (index/segments.py), on made articles."""

import pytest

from index.articles import parse_txt
from index.segments import CAPTION, CUE, DATELINE, HEADING, PROSE, article_segments, strip_dateline, unglue
from index.sentences import article_sentences

CLUTTERED = """ date 2025-05-02 Harbour Tram Opens in Norland

NORVIK, Nor. — The harbour tram carried its first passengers on Friday, the city said.

Read the story:Harbour tram budget doubles after delays

Riders and prices

A single ride costs two crowns.Children ride free.

Passengers board the first tram at Norvik station. (AP Photo/Jane Roe)

Orbitex CNN —

The tram was built by Linder Bros. Rail, a family firm.

Editor's note: This story has been updated. The line runs every ten minutes.
"""


def texts(article_text: str) -> list[str]:
    return [s.text for s in article_sentences(parse_txt(article_text, "a.txt"))[1:]]


def kinds(*paragraphs: str) -> list[list[str]]:
    return [[s.kind for s in segments] for segments in article_segments(paragraphs)]


def test_only_prose_of_a_cluttered_article_is_indexed():
    assert texts(CLUTTERED) == [
        "The harbour tram carried its first passengers on Friday, the city said.",
        "A single ride costs two crowns.",
        "Children ride free.",
        "The tram was built by Linder Bros. Rail, a family firm.",
        "The line runs every ten minutes.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Read more: Tram fares rise",
        "More:Tram fares rise in May",
        "Getty Images",
        "Tram strike:Drivers to vote on a new contract",  # a related story's headline, glued
        "For the latest, view our live updates file for Friday.",
        "A previous version of this story misstated the fare.",
        "All rights reserved.",  # the wire's copyright line, the sentence after "Copyright 2025 The Agency."
        "Our Standards: The Thomson Reuters Trust Principles.",
        "The Associated Press contributed to this report.",
        "Updated 3:45 PM GMT, March 2, 2025",
    ],
)
def test_link_and_cue_lines_stand_alone(line):
    assert kinds(line, "The tram is late.") == [[CUE], [PROSE]]


def test_a_caption_with_a_photo_credit_is_furniture():
    assert kinds("Riders wait at the stop. (AP Photo/Jane Roe)", "The tram is late.") == [[CAPTION], [PROSE]]


def test_a_short_line_without_end_punctuation_before_a_capitalised_line_is_a_heading():
    assert kinds("Riders and prices", "A ride costs two crowns.") == [[HEADING], [PROSE]]
    assert kinds("Riders and prices", "and more") == [[PROSE], [PROSE]]  # not before a capitalised line
    assert kinds("The tram is late.", "It rains.") == [[PROSE], [PROSE]]
    assert kinds("Here is what riders need to know:", "Fares rise in May.") == [[HEADING], [PROSE]]


def test_a_short_answer_after_a_question_is_not_a_heading():
    assert kinds("2. Which city opened a harbour tram?", "Norvik", "3. Which river flooded?") == [[PROSE]] * 3


@pytest.mark.parametrize(
    "line",
    [
        "Contact Ana Ruiz at aruiz@norvik.test or on X @anaruiz.",
        "Follow Ana Ruiz on Twitter: @anaruiz",
        "Contributing: Teo Brandt, Norvik Daily",
        "What is everyone talking about? Sign up for our newsletter.",
    ],
)
def test_contact_and_newsletter_lines_are_furniture(line):
    assert kinds(line, "The tram is late.") == [[CUE], [PROSE]]


def test_a_hard_wrapped_line_is_not_a_heading_but_a_fused_subheading_is():
    wrapped = "The council voted on Tuesday to build the\nHarbour tram line from the station to the port."
    assert kinds(wrapped) == [[PROSE]]
    assert article_segments([wrapped])[0][0].text == wrapped.replace("\n", " ")
    fused = "Riders and prices\nA single ride on the harbour tram costs two crowns, the operator said."
    assert kinds(fused) == [[HEADING, PROSE]]


@pytest.mark.parametrize(
    "text, kept",
    [
        ("LOUISVILLE, Ky. — At least seven people were hurt.", "At least seven people were hurt."),
        ("(CNN) — The tram opened.", "The tram opened."),
        ("Seoul, South Korea CNN — The tram opened.", "The tram opened."),
        ("NEW YORK (AP) — The tram opened.", "The tram opened."),
        ("NORTHBRIDGE ― The tram opened.", "The tram opened."),  # a horizontal bar (U+2015)
        ("NATO — the alliance — met.", "NATO — the alliance — met."),  # not before a capitalised word
        ("Dec 2 (Reuters) - Wheat exports rose.", "Wheat exports rose."),
        ("BERLIN: Germany remained in recession.", "Germany remained in recession."),
        ("BERLIN: the city", "BERLIN: the city"),  # a colon dateline comes before a sentence
    ],
)
def test_a_dateline_prefix_is_cut_and_its_sentence_kept(text, kept):
    assert strip_dateline(text) == kept


def test_a_dateline_alone_on_its_line_is_furniture():
    assert kinds("CNN —", "The tram opened.") == [[DATELINE], [PROSE]]


@pytest.mark.parametrize(
    "text, fixed",
    [
        ("Read the story:Embattled chief", "Read the story: Embattled chief"),
        ("forecast here.Vegas wins", "forecast here. Vegas wins"),
        ("the U.S.Army and www.Norvik.no", "the U.S.Army and www.Norvik.no"),
    ],
)
def test_words_glued_across_a_sentence_end_are_split(text, fixed):
    assert unglue(text) == fixed


def test_the_article_identity_is_that_of_joined_wrapped_lines():
    wrapped = parse_txt(" date 2025-01-01 T\n\nOne line\nwrapped here.\n", "a.txt")
    joined = parse_txt(" date 2025-01-01 T\n\nOne line wrapped here.\n", "a.txt")
    assert wrapped.paragraphs != joined.paragraphs and wrapped.content_hash == joined.content_hash


@pytest.mark.parametrize(
    "sentence",
    [
        "For the latest news on the storm, view our story for Friday, May 2.",
        "For the latest, please see our file for Thursday.",
        "Follow our live coverage from Norvik and Lund.",
        "Follow the Norvik Daily's live updates all weekend.",
        "Here's a link to the full list of nominees.",
        "More on the tram: Fares rise in May as the line opens.",
        "Corrections & clarifications: An earlier version of this story misstated the fare.",
        "🙋 I'm Ana Ruiz, Daily Briefing author.",
        "I'm Teo Brandt, and this is 5 Things you need to know.",
        "Good morning, I'm Teo Brandt.",
        "Check them out here.",
        "See the full list of this year's nominees here, as well as the shortlist.",
        "Catch up with the Norvik Daily's live coverage of the council vote.",
        "Catch up with live updates from the Norvik Daily.",
        "Norvik Daily Sports will provide the latest bracket updates throughout the day.",
        "We will keep you updated.",
        "A previous version of the story listed it as a campground.",
        # a related link of its own, its label glued to the headline, end marks and all
        "\n\nStudent fares:Should you buy a season pass?",
        "\n\nTram delays:Norvik's new line opened late. Here's why.",
        "\n\nOpinion:The tram is a gift. Riders should say thanks.",
    ],
)
def test_pointers_corrections_introductions_and_bylines_are_not_quoted(sentence):
    article = f" date 2025-05-02 T\n\nThe tram opened. {sentence}\n\nIt rains.\n"
    assert texts(article) == ["The tram opened.", "It rains."]


@pytest.mark.parametrize(
    "sentence",
    [
        "For the latest figures, the council counted 4,000 riders.",  # no pointer elsewhere
        "More from Ana: The tram is late.",  # more of an interview, not a link
        "\"I'm Ana Ruiz and I'm running for mayor,\" she said.",  # a quotation
        "— Ana Ruiz.",  # an item of a list of honorees
        "NATO — the alliance — met.",
        "Norvik TV will provide live coverage of the vote from 3 p.m.",  # when to watch it
        "The council will provide the latest figures in May.",  # news, not a promise to readers
        '"I will keep you updated on how I\'m doing," she wrote.',
        "A previous version of the bill would have capped fares at 5%.",
        "Watch parties were held here, and fans cheered.",
        "Check-in lines stretched for hours here.",
        "Orbitex will provide the latest security updates for older phones until 2027.",
        "The weather service will have the latest updates at 11 p.m.",
    ],
)
def test_news_that_looks_like_a_pointer_or_a_byline_is_kept(sentence):
    assert texts(f" date 2025-05-02 T\n\n{sentence}\n") == [sentence]


@pytest.mark.parametrize("byline", ["— Ana Ruiz", "– Ana Ruiz and Teo Brandt, Norvik Daily"])
def test_a_byline_on_its_own_line_is_not_quoted(byline):
    assert texts(f" date 2025-05-02 T\n\nThe tram opened.\n\n{byline}\n") == ["The tram opened."]


def test_a_live_blog_byline_after_a_sentence_is_cut():
    won = "The harbour tram won the first race of the season on Friday by a single length, its driver said."
    article = f' date 2025-05-02 T\n\n{won} — Ana Ruiz\n\n"We won!" – Teo Brandt\n'
    assert texts(article) == [won, '"We won!"']


def test_a_glued_related_link_opening_with_a_number_is_furniture():
    assert kinds("Tram fares:12 ways to ride the harbour line for less", "The tram is late.") == [[CUE], [PROSE]]
    assert kinds("Opened in:1911", "The tram is late.") == [[HEADING], [PROSE]]  # a fact box's line


def test_a_bare_answer_goes_with_its_question_subheading():
    article = " date 2025-05-02 T\n\nThe vote was close.\n\nDid the tram ban pass?\n\nNo. The council voted 5-4.\n"
    assert texts(article) == ["The vote was close.", "The council voted 5-4."]
    ranked = " date 2025-05-02 T\n\nWho leads the league?\n\nNo. 1 Norvik leads it.\n"
    assert texts(ranked) == ["No. 1 Norvik leads it."]


def test_a_corrections_note_is_left_out_whole():
    article = (
        " date 2025-05-02 T\n\nCORRECTION: An earlier version of this story misstated the fare. "
        "A ride costs two crowns.\n\nThe tram opened.\n"
    )
    assert texts(article) == ["The tram opened."]


@pytest.mark.parametrize(
    "line, kept",
    [
        (
            "• Playing record:Played 12 games for Norvik in 1988.",
            "• Playing record: Played 12 games for Norvik in 1988.",
        ),
        (
            "The mayor told reporters:We will rebuild the bridge.",
            "The mayor told reporters: We will rebuild the bridge.",
        ),
    ],
)
def test_a_list_item_or_speech_with_a_glued_colon_is_kept(line, kept):
    assert texts(f" date 2025-05-02 T\n\n{line}\n") == [kept]


def test_a_corrections_note_ends_where_the_next_block_opens():
    """Lines separated by single line breaks are one paragraph: the note is only the lines up to a new one."""
    article = " date 2025-05-02 T\n\nCorrection: An earlier version misstated\nthe fare.\nThe tram opened on Monday.\n"
    assert texts(article) == ["The tram opened on Monday."]
    assert texts(" date 2025-05-02 T\n\nCorrections: 2.1 billion crowns in the budget.\n") == [
        "Corrections: 2.1 billion crowns in the budget."
    ]
