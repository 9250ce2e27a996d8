"""The text checks on what members write for the bot to post: which texts are refused for
hidden characters, and which are held for identifying details. One table, so a change to a
pattern shows at once what it starts or stops catching."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import (
    COUNTRY_CODES_FOR_NON_GEO_REGIONS,
    SUPPORTED_REGIONS,
    PhoneNumberFormat,
    PhoneNumberType,
)

from bot.services import textchecks
from bot.services.textchecks import find_identifying_details, regions_for

# (text, the kinds found, in order) -- an empty tuple: nothing to hold the post for.
DETAILS: list[tuple[str, tuple[str, ...]]] = [
    # phone numbers: international form for any region, national form for the server's
    ("call me on +1 (555) 123-4567 tonight", ("phone number",)),
    ("call 555-123-4567", ("phone number",)),
    ("my cell is (212) 555-0199", ("phone number",)),
    ("text 415 555 2671 after 6", ("phone number",)),
    ("+44 20 7946 0958 is the office", ("phone number",)),
    ("reach me on +55 11 91234-5678", ("phone number",)),
    ("whatsapp +91 98765 43210", ("phone number",)),
    ("+33 6 12 34 56 78", ("phone number",)),
    ("order 12345678 never came", ()),
    ("ISBN 978-3-16-148410-0 is a good read", ()),
    ("the ISBN is 0-306-40615-2", ()),
    ("tracking number 1Z999AA10123456784", ()),
    ("In 2019 I worked 5:30 shifts, 40% of the time", ()),
    ("From 2016-2021, on 2019-05-30 and 30.05.2019, I paid $1,500 and 1.500.000 lira", ()),
    ("I was 19 and on the street; it's a 10 minute drive; 3 years in court.", ()),
    ("It took 3.5 hours and cost 12.50", ()),
    ("room 4 on floor 12, bus 117", ()),
    # e-mail addresses, plain and written out
    ("write to jo.doe@example.org", ("email address",)),
    ("name [at] gmail [dot] com", ("email address",)),
    ("quiet.heron (at) proton (dot) me", ("email address",)),
    ("mail me: quietheron at gmail dot com", ("email address",)),
    ("we met at the cafe, dot to dot", ()),
    # links and domains, from the public-suffix list
    ("it's on https://example.com/me).", ("link",)),
    ("look at www.example.net", ("link",)),
    ("my page: example.com", ("link",)),
    ("find quietheron.br", ("link",)),
    ("quietheron.it has my rates", ("link",)),
    ("it is quietheron.ph now", ("link",)),
    ("quietheron.mx", ("link",)),
    ("booking via quietheron.in", ("link",)),
    ("quietheron.com.br/agenda", ("link",)),
    ("quietheron dot com", ("link",)),
    ("quietheron [dot] net", ("link",)),
    ("e.g. this, i.e. that.", ()),
    ("I was tired.So I left early", ()),
    ("the dot com boom was before my time", ()),
    ("version 2.0.1 broke it", ()),
    # invites, mentions, street addresses, handles
    ("join discord.gg/abc123 if you like", ("Discord invite",)),
    ("https://discord.com/invite/abc123", ("Discord invite",)),
    ("find me, I'm @someone_else.", ("handle",)),
    ("Tell @everyone and @here, meet @5pm.", ()),
    ("I was at 221b Baker St. then", ("street address",)),
    ("near 12 north main avenue", ("street address",)),
    ("ask <@123456789012345678>", ("mention",)),
    ("the <#42> channel", ("mention",)),
    # social handles named with their platform
    ("IG is quiet_heron_88", ("social media handle",)),
    ("insta: quietheron", ("social media handle",)),
    ("snap quiet.heron", ("social media handle",)),
    ("my onlyfans is heron_after_dark", ("social media handle",)),
    ("telegram @quietheron", ("social media handle",)),
    ("twitter - heronquiet", ("social media handle",)),
    ("tiktok heron2024", ("social media handle",)),
    ("x.com/quietheron", ("link",)),
    ("my insta is great for memes", ()),
    ("x is the letter I always lose at scrabble", ()),
    ("I deleted snapchat last year", ()),
    # emoji sequences and text in several scripts raise nothing
    ("proud 🏳️‍⚧️ and 🏳️‍🌈 today", ()),
    ("👨‍👩‍👧 my family, 👍🏽 and 🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland", ()),
    ("می‌خواهم حرف بزنم 🌙", ()),
    ("नमस्ते, मैं ठीक हूँ 🙏🏾", ()),
    ("今日は大丈夫です 🌸", ()),
    ("Привет, я здесь 💜", ()),
    ("שלום לכולם 👋", ()),
    ("สวัสดีค่ะ 🌺", ()),
]


@pytest.mark.parametrize(("text", "kinds"), DETAILS)
def test_identifying_details_table(text: str, kinds: tuple[str, ...]) -> None:
    """Each text is held for exactly the kinds of detail listed, and ordinary text is not."""
    assert tuple(f.kind for f in find_identifying_details(text)) == kinds


def test_the_table_is_large_enough() -> None:
    """The table covers at least 60 texts, so it keeps its worth as patterns change."""
    assert len(DETAILS) + len(HIDDEN) >= 60


def test_national_numbers_follow_the_server_regions() -> None:
    """A British number without its country code is found for a British server, and not read
    with the US plan, where it is no number."""
    text = "my number is 07911 123456."
    assert find_identifying_details(text, regions=regions_for(["en-GB"])) == [
        textchecks.Finding("phone number", "07911 123456")
    ]
    assert find_identifying_details(text, regions=regions_for([None])) == []


def _shortest_plan(metadata: phonenumbers.PhoneMetadata | None) -> int:
    assert metadata is not None
    return min(n for n in metadata.general_desc.possible_length if n > 0)


def test_the_fewest_digits_of_a_number_match_every_numbering_plan() -> None:
    """The matcher is skipped on texts with fewer digits than any number could have: that
    figure is the shortest national number of any plan phonenumbers knows."""
    plans = [phonenumbers.PhoneMetadata.metadata_for_region(r) for r in SUPPORTED_REGIONS]
    plans += [
        phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        for code in COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    assert min(map(_shortest_plan, plans)) == textchecks.FEWEST_DIGITS_ANYWHERE


@pytest.mark.parametrize("region", sorted(SUPPORTED_REGIONS))
def test_every_region_s_numbers_are_still_found(region: str) -> None:
    """Skipping the matcher hides no number: each region's example numbers are found in
    national form with that region, and in international form with any."""
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        number = phonenumbers.example_number_for_type(region, kind)
        if number is None:
            continue
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        for text, regions in ((national, (region,)), (international, ("US",))):
            found = find_identifying_details(f"reach me on {text} tonight", regions=regions)
            assert "phone number" in [f.kind for f in found], (region, text)


def test_short_digit_runs_never_reach_the_matcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text with three digits, or a long number without a plus sign read for a region
    whose numbers are longer, is judged without phonenumbers' matcher."""
    calls: list[str] = []
    real = phonenumbers.PhoneNumberMatcher

    def counted(text: str, region: str, **options: object) -> object:
        calls.append(region)
        return real(text, region, **options)

    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", counted)
    assert find_identifying_details("circle 12, room 3", regions=("GB",)) == []
    assert calls == []
    assert find_identifying_details("the 2019 raids", regions=("US",)) == []
    assert calls == []  # no plus sign; US numbers have ten digits
    assert [f.kind for f in find_identifying_details("ring 0660 1234", regions=("AT",))] == [
        "phone number"
    ]
    assert calls == ["AT"]


def test_regions_come_from_locales_with_the_us_when_unknown() -> None:
    """Discord locales map to phone regions, once each, and an unknown one falls back."""
    assert regions_for(["pt-BR", "en-US", "pt-BR", None]) == ("BR", "US")
    assert regions_for([None, "tlh"]) == ("US",)


def test_domains_come_from_the_bundled_list_without_network(monkeypatch) -> None:
    """The public-suffix list is the one shipped with tldextract: no request is made."""

    def no_network(*args, **kwargs):
        raise AssertionError("tried to fetch the public-suffix list")

    monkeypatch.setattr("requests.Session.get", no_network)
    textchecks._suffixes.cache_clear()
    assert [f.kind for f in find_identifying_details("see quietheron.co.uk")] == ["link"]


# (text, refused for hidden characters)
HIDDEN: list[tuple[str, bool]] = [
    ("trans and proud 🏳️‍⚧️", False),
    ("🏳️‍🌈 👨‍👩‍👧‍👦 👩🏿‍🤝‍👩🏻", False),
    ("🏴󠁧󠁢󠁳󠁣󠁴󠁿 and 🏴󠁧󠁢󠁷󠁬󠁳󠁿", False),
    ("keycap 1️⃣ and ❤️", False),
    ("می‌خواهم", False),
    ("ക്‍", False),
    ("hello\u200bthere", True),
    ("he\u200dllo", True),
    ("a\u2066hidden\u2069b", True),
    ("arabic mark\u061c here", True),
    ("soft\u00adhyphen", True),
    ("tag\U000e0041 outside a flag", True),
    ("filler \u3164 here", True),
    ("hello \u202ethere", True),
    ("word\ufeffword", True),
    ("blank \u2800 braille", True),
]


@pytest.mark.parametrize(("text", "refused"), HIDDEN)
def test_hidden_characters_table(text: str, refused: bool) -> None:
    """Format and invisible characters are refused by their Unicode property, except where an
    emoji sequence or a script's own joining needs them."""
    if refused:
        with pytest.raises(textchecks.InvalidText, match="invisible characters"):
            textchecks.clean_text(text)
    else:
        assert textchecks.clean_text(text) == text
