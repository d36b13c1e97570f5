"""The rules on book text: real passages of the embedded books that a rule once dropped are
kept, and the junk each rule is there for is still dropped. The share of the embedded books
kept (>= 99.7%, issue 34) is asserted in tests/test_clean_pipeline.py."""

from __future__ import annotations

from helpers.clean import run_stage, verdict
from corpuskit.document import Document
from corpuskit.presets import preset_stages
from corpuskit.stages import build_stage
from corpuskit.stages.analysis import terminal_punct_ratio
from corpuskit.stages.filters.fineweb import FineWebQuality
from corpuskit.stages.filters.gopher import GopherQuality, GopherRepetition

# Pride and Prejudice, ch. 18: one wrapped paragraph whose last sentence introduces a speech.
AUSTEN = """\
Elizabeth tried hard to dissuade him from such a scheme, assuring him
that Mr. Darcy would consider his addressing him without introduction
as an impertinent freedom, rather than a compliment to his aunt; that
it was not in the least necessary there should be any notice on either
side; and that if it were, it must belong to Mr. Darcy, the superior in
consequence, to begin the acquaintance. Mr. Collins listened to her
with the determined air of following his own inclination, and, when she
ceased speaking, replied thus:"""

# The Taming of the Shrew, V.2 (Tiny Shakespeare): short speeches under speaker labels.
SHREW = """\
PETRUCHIO:
Now, for my life, Hortensio fears his widow.

Widow:
Then never trust me, if I be afeard.

PETRUCHIO:
You are very sensible, and yet you miss my sense:
I mean, Hortensio is afeard of you.

Widow:
He that is giddy thinks the world turns round.

PETRUCHIO:
Roundly replied.

KATHARINA:
Mistress, how mean you that?

Widow:
Thus I conceive by him.

PETRUCHIO:
Conceives by me! How likes Hortensio that?

HORTENSIO:
My widow says, thus she conceives her tale.

PETRUCHIO:
Very well mended. Kiss him for that, good widow."""

# The Tempest, II.1 (Tiny Shakespeare): quick exchanges, most lines short.
TEMPEST = """\
SEBASTIAN:
He receives comfort like cold porridge.

ANTONIO:
The visitor will not give him o'er so.

SEBASTIAN:
Look he's winding up the watch of his wit;
by and by it will strike.

GONZALO:
Sir,--

SEBASTIAN:
One: tell.

GONZALO:
When every grief is entertain'd that's offer'd,
Comes to the entertainer--

SEBASTIAN:
A dollar.

GONZALO:
Dolour comes to him, indeed: you
have spoken truer than you purposed.

SEBASTIAN:
You have taken it wiselier than I meant you should.

GONZALO:
Therefore, my lord,--

ANTONIO:
Fie, what a spendthrift is he of his tongue!

ALONSO:
I prithee, spare."""

# Huckleberry Finn's list of illustrations: short title lines, no sentences.
ILLUSTRATIONS = "\n\n".join([
    "Their Pockets Bulged", "Henry the Eighth in Boston Harbor", "Harmless", "Adolphus",
    "He fairly emptied that Young Fellow", "“Alas, our Poor Brother”", "“You Bet it is”", "Leaking",
    "Making up the “Deffisit”", "The Duke looks under the Bed", "Huck takes the Money",
    "A Crack in the Dining-room Door", "The Undertaker", "“He had a Rat!”", "“Was you in my Room?”",
    "“Gentlemen, Gentlemen!”", "“Jim Lit Out”", "The King shakes Huck", "The Duke went for Him"])

# Dracula, the log of the Demeter: entries divided by section breaks.
LOG = """\
On 14 July was somewhat anxious about crew. Men all steady fellows, who
sailed with me before. Mate could not make out what was wrong; they only
told him there was _something_, and crossed themselves.

 * * * * *

On 16 July mate reported in the morning that one of crew, Petrofsky, was
missing. Could not account for it. Took larboard watch eight bells last
night; was relieved by Abramoff, but did not go to bunk.

 * * * * *

On 17 July, yesterday, one of the men, Olgaren, came to my cabin, and in
an awestruck way confided to me that he thought there was a strange man
aboard the ship.

 * * * * *"""

# Huckleberry Finn, ch. 21: the duke's playbill, with dot leaders.
PLAYBILL = """\
We struck it mighty lucky; there was going to be a circus there that
afternoon, and the country people was already beginning to come in, in
all kinds of old shackly wagons, and on horses. The duke he hired the
court house, and we went around and stuck up our bills. They read like this:

Shaksperean Revival!!!

Romeo...................................... Mr. Garrick.

Juliet..................................... Mr. Kean.

Assisted by the whole strength of the company!

Richard III................................ Mr. Garrick.

Richmond................................... Mr. Kean."""

# Sense and Sensibility, ch. 22: a reader's chunk of 16 words, cut before a long paragraph.
ELINOR = '"Indeed," answered Elinor, "I have NOT forgotten it." He looked pleased\nby this remembrance, and added,'

# Moby-Dick, ch. 41: a paragraph of one sentence.
MELVILLE = """\
Judge, then, to what pitches of inflamed, distracted fury the minds of
his more desperate hunters were impelled, when amid the chips of chewed
boats, and the sinking limbs of torn comrades, they swam out of the
white curds of the whale’s direful wrath into the serene, exasperating
sunlight, that smiled on, as if at a birth or a bridal."""

# Through the Looking-Glass, ch. 1: Jabberwocky ends with its first stanza again.
JABBERWOCKY = """\
‘Twas brillig, and the slithy toves
 Did gyre and gimble in the wabe;
 All mimsy were the borogoves,
 And the mome raths outgrabe.

 ‘Beware the Jabberwock, my son!
 The jaws that bite, the claws that catch!
 Beware the Jubjub bird, and shun
 The frumious Bandersnatch!’

 He took his vorpal sword in hand:
 Long time the manxome foe he sought--
 So rested he by the Tumtum tree,
 And stood awhile in thought.

 And as in uffish thought he stood,
 The Jabberwock, with eyes of flame,
 Came whiffling through the tulgey wood,
 And burbled as it came!

 One, two! One, two! And through and through
 The vorpal blade went snicker-snack!
 He left it dead, and with its head
 He went galumphing back.

 ‘And hast thou slain the Jabberwock?
 Come to my arms, my beamish boy!
 O frabjous day! Callooh! Callay!’
 He chortled in his joy.

 ‘Twas brillig, and the slithy toves
 Did gyre and gimble in the wabe;
 All mimsy were the borogoves,
 And the mome raths outgrabe.

‘It seems very pretty,’ she said when she had finished it, ‘but it’s
RATHER hard to understand!’ (You see she didn’t like to confess, even
to herself, that she couldn’t make it out at all.) ‘Somehow it seems
to fill my head with ideas--only I don’t exactly know what they are!
However, SOMEBODY killed SOMETHING: that’s clear, at any rate--’"""

# Moby-Dick's table of contents.
CONTENTS = "\n\n".join(["Produced by Daniel Lazarus, Jonesey, and David Widger", "MOBY-DICK;", "or, THE WHALE.",
                        "By Herman Melville", "CONTENTS", "ETYMOLOGY.",
                        "EXTRACTS (Supplied by a Sub-Sub-Librarian)."]
                       + [f"CHAPTER {i}. {t}." for i, t in enumerate(
                           ["Loomings", "The Carpet-Bag", "The Spouter-Inn", "The Counterpane", "Breakfast",
                            "The Street", "The Chapel", "The Pulpit", "The Sermon", "A Bosom Friend",
                            "Nightgown", "Biographical", "Wheelbarrow", "Nantucket", "Chowder"], 1)])


def book_verdict(text: str) -> str:
    """'kept' or the drop reason under the book pipeline's stages (pipelines/clean.yaml); the
    language filter left out: every passage here is English, and it is the slow one."""
    docs = [Document(text=text, id="0")]
    for entry in preset_stages("clean"):
        name, params = next(iter(entry.items()))
        if name != "language_filter":
            docs, dropped = run_stage(build_stage(name, params), [d.text for d in docs])
            if dropped:
                return dropped["0"]
    return "kept"


def test_wrapped_paragraph_ending_in_a_colon_is_prose():
    assert terminal_punct_ratio(AUSTEN, wrap_width=80) == (1, 1)  # was (0, 1): only "thus:" was read
    assert verdict(FineWebQuality(wrap_width=80), AUSTEN) == "kept"
    # a menu does not wrap: one-line runs are still judged by how they end
    menu = "\n\n".join(["Home", "About us", "Our team", "Contact", "Log in"])
    assert verdict(FineWebQuality(wrap_width=80), menu) == "fineweb_line_punct_ratio"
    # a run of lines with no sentence in it is not prose either
    assert verdict(FineWebQuality(wrap_width=80), menu.replace("\n\n", "\n")) == "fineweb_line_punct_ratio"


def test_speaker_labels_are_not_short_lines_or_list_items():
    assert verdict(FineWebQuality(), TEMPEST) == "fineweb_short_line_ratio"
    assert verdict(FineWebQuality(skip_label_lines=True), TEMPEST) == "kept"
    assert verdict(FineWebQuality(char_duplicates_ratio=1.0), SHREW) == "fineweb_list_ratio"
    assert verdict(FineWebQuality(skip_label_lines=True), SHREW) == "kept"
    # a list of titles has no labels to leave out
    assert verdict(FineWebQuality(skip_label_lines=True), ILLUSTRATIONS) == "fineweb_short_line_ratio"
    assert verdict(FineWebQuality(skip_label_lines=True, short_line_thr=1.0), ILLUSTRATIONS) == "fineweb_list_ratio"


def test_section_breaks_are_not_repeated_paragraphs():
    assert verdict(GopherRepetition(), LOG) == "gopher_dup_para_frac"
    assert verdict(GopherRepetition(skip_label_lines=True), LOG) == "kept"
    entries = LOG.split("\n\n * * * * *\n\n")
    repeated = "\n\n".join([entries[0], entries[1], entries[0], entries[0]])
    assert verdict(GopherRepetition(skip_label_lines=True), repeated) == "gopher_dup_para_frac"


def test_a_dot_leader_is_one_ellipsis():
    assert verdict(GopherQuality(punctuation_tokens=False, min_words=0), PLAYBILL) == "kept"
    assert verdict(GopherQuality(min_words=0), PLAYBILL) == "gopher_ellipsis_ratio"  # datatrove's count: 12 per leader
    assert verdict(GopherQuality(punctuation_tokens=False), "wait... " * 11 + "and then " * 39) == "gopher_ellipsis_ratio"


def test_top_n_gram_without_a_repeat():
    assert verdict(GopherRepetition(), ELINOR) == "gopher_top_3_gram"  # its first 3-gram, once: 19% of it
    assert verdict(GopherRepetition(top_n_gram_repeats_only=True), ELINOR) == "kept"
    chant = "I look, you look, he looks; we look, ye look, they look. " * 4
    assert verdict(GopherRepetition(top_n_gram_repeats_only=True), chant).startswith("gopher_")


def test_book_pipeline_keeps_prose_and_drops_contents():
    for text in (AUSTEN, SHREW, TEMPEST, LOG, PLAYBILL, ELINOR, MELVILLE, JABBERWOCKY):
        assert book_verdict(text) == "kept", text[:40]
    assert book_verdict(CONTENTS) == "fineweb_short_line_ratio"
    assert book_verdict(ILLUSTRATIONS) == "fineweb_short_line_ratio"
    assert book_verdict("* * * * *") == "c4_too_few_sentences"
    assert book_verdict("\n".join(["Buy cheap watches online now"] * 4)) == "c4_too_few_sentences"
    # a refrain is 10% of Jabberwocky; a line repeated over a quarter of the text is still spam
    spam = MELVILLE + "\n" + "\n".join(["Buy cheap watches online now, the best prices of the year."] * 4)
    assert book_verdict(spam) == "fineweb_char_dup_ratio"

