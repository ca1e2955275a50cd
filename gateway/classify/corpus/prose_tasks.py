"""Synthetic prompts for N1-N6, the tasks done on a text (from templates with varied wording).

N1-N3 are here, N4-N6 in transform_tasks.py, N7-N10 in assistant_tasks.py."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

import random
from typing import Any

from gateway.classify.corpus.common import Material, combine, pick, user
from gateway.classify.corpus.prose_material import Gen, document
from gateway.classify.corpus.texts import TOPICS
from gateway.classify.corpus.transform_tasks import n4, n5, n6

_N1_ASK = (
    "Write a {n}-word blog post about {t}.",
    "Draft an essay on {t}. It should have at least {p} paragraphs.",
    "Write a short story about {t}.",
    "Compose a speech for a conference on {t}.",
    "Write a cover letter for a job in {t}.",
    "Draft a newsletter article about {t} for our customers.",
    "Write a detailed opinion piece arguing for {t}.",
    "Please write a long-form feature article on {t}, with a headline and subheadings.",
    "Write a wedding toast that mentions {t}.",
    "Write a product description and landing-page copy for {t}.",
    "Expand these notes into a full article:\n- {t}\n- why it matters\n- what readers can do",
    "Write a poem about {t}.",
    "Draft a grant proposal introduction about {t}.",
    "Write a formal letter to the mayor about {t}.",
    "Create a {p}-chapter outline and then write chapter one of a novel about {t}.",
    "Write a {n}-word article for our company blog on {t}.",
    "Draft a keynote speech about {t}, about ten minutes long.",
    "Write a personal essay about {t}. Reflective, first person, around {n} words.",
    "Compose a eulogy for a beloved teacher who cared deeply about {t}.",
    "Write the homepage copy for a small business focused on {t}.",
    "Please write a press release announcing a new initiative on {t}.",
    "Draft a long LinkedIn post about {t}, with a hook in the first line.",
    "Argue, in a well-structured op-ed, that {t} deserves more public money.",
    "Write a bedtime story for a six-year-old about {t}.",
    "I'd like a {n}-word short story set in a mountain village, about {t}.",
    "Write a detailed travel guide article about {t}.",
    "Write the first scene of a screenplay about {t}.",
    "Compose a thank-you letter to our volunteers for their work on {t}.",
    "Write a motivational speech for a school graduation touching on {t}.",
    "Write a magazine feature, at least {p} paragraphs, about {t}.",
    "Write a heartfelt letter to my future self about {t}.",
    "Write song lyrics (verses and chorus) about {t}.",
)


_N1_FROM_TEXT = (
    "Write an expanded news article with plausible details from the following summary:",
    "Expand this summary into a full-length feature story:",
    "Using these notes, write a complete blog post of about 800 words:",
    "Continue this story for another 1,000 words, keeping the same characters:",
    "Based on these bullet points, write a short biography:",
    "Turn the following outline into a polished essay:",
    "Write a detailed report that elaborates on every point below:",
    "Build a movie plot around this premise:",
    "Develop this paragraph into a longer piece with an introduction, three sections and a conclusion:",
    "Write this up as a members' bulletin story:",
    "Use the facts below to write a 600-word feature for our members' magazine:",
    "Turn this rough draft into a finished blog post, keeping my voice:",
    "Write a story inspired by the situation described here:",
)
_N1_QUESTIONS = (
    "Can you help me write a {thing} to {who}, expressing {feeling}?",
    "Could you draft a {thing} for {who}? It should be warm but professional.",
    "Would you write me a {thing} about {t}?",
    "I need a {thing} for {who} — can you write one?",
    "Please write a {thing} for {who}, around five paragraphs.",
    "Help me draft a {thing} to {who} that conveys {feeling} without sounding stiff.",
    "Could you compose a {thing} for {who}? I'd like it to feel personal.",
)


def n1(rng: random.Random, mat: Material) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.3:
        return user(combine(rng, rng.choice(_N1_FROM_TEXT), document(rng, mat)))
    if roll < 0.45:
        return user(
            pick(
                rng,
                _N1_QUESTIONS,
                thing=rng.choice(
                    [
                        "resignation letter",
                        "speech",
                        "eulogy",
                        "rap",
                        "poem",
                        "blog post",
                        "short story",
                        "letter",
                        "toast",
                        "cover letter",
                        "farewell message",
                        "newsletter",
                    ]
                ),
                who=rng.choice(["my employer", "my team", "my grandmother", "our customers", "the city council"]),
                feeling=rng.choice(["gratitude", "regret", "excitement", "concern"]),
                t=rng.choice(TOPICS),
            )
        )
    return user(
        pick(
            rng, _N1_ASK, t=rng.choice(TOPICS), n=str(rng.choice([300, 500, 800, 1200, 2000])), p=str(rng.randint(3, 8))
        )
    )


_N2_ASK = (
    "Summarize the following text.",
    "TL;DR please:",
    "Give me a brief summary of this in {k} sentences.",
    "Can you condense this into {k} bullet points?",
    "What are the key points of this article?",
    "Summarize this conversation.",
    "Write a one-paragraph summary of the passage below.",
    "Boil this down to the essentials for a busy executive.",
    "Sum up the following meeting transcript, including decisions and action items.",
    "Give me the gist of this.",
    "Write an abstract for the following text.",
    "Summarise this email thread for me.",
    "Recap this in plain language.",
    "Shorten this into a headline and a two-sentence summary.",
    "Can I get the condensed version?",
    "Cliff notes, please:",
    "Too long, didn't read — give me the essentials:",
    "Brief me on this in under 50 words.",
    "Summarize this news story.",
    "Summarise the report below in {k} bullet points.",
    "Please summarise this case so whoever picks it up is up to speed.",
    "Summarize this so I can paste it into the weekly update.",
    "Could you summarize the text below in {k} sentences?",
    "Can you give me a quick summary of this?",
    "Write a short summary of the following document.",
    "Summarise this correspondence: who wants what, and what was agreed.",
    "Please produce a synopsis of this piece.",
    "Summarise the attached notes.",
    "Give me the main points of the text below.",
    "I don't have time to read this. What does it say?",
    "Summarize the key findings of this abstract in plain English.",
    "Give me a 50-word abstract of the following.",
    "Summarize the discussion below in a few lines.",
    "Sum this up in a single sentence.",
    "Make a short bulleted summary of this for a Slack update.",
    "Summarise the call below: the customer's problem and the outcome.",
    "Distil the following into three key takeaways.",
    "Give a brief overview of what this document covers.",
    "Outline the main points of this email in a few bullets.",
    "Can you shorten this to a paragraph, keeping only what matters?",
    "Summarize the reviews below: what do customers like and dislike?",
    "Write a one-line summary for each section of this.",
    "Condense the following into {k} sentences.",
    "Please condense this report; keep the numbers.",
    "Abridge this text to about a third of its length.",
    "Give me a digest of the material below.",
    "Boil the following down to one tight paragraph.",
    "Shorten this document to its essentials.",
    "Reduce this to the key facts, briefly.",
    "Could you sum up what this says?",
    "Cut this down to a summary of {k} lines.",
)


_N2_SUFFIX = (
    "\n\nTL;DR:",
    "\n\nSummary:",
    "\n\n===\n\nWrite a summary of the text above:",
    "\n\nIn a nutshell:",
    "\n\nNow, can you write me an extremely short abstract for it?",
    "\n\nWhat was this article about, in one sentence?",
    "\n\nKey takeaways (3 bullets):",
    "\n\nSummarise that piece in a couple of sentences.",
    "\n\nSummarise the above in a short paragraph.",
    "\n\nCan you summarize that for me?",
    "\n\nPlease give me a brief summary of the text above.",
    "\n\nWhat are the main points here?",
    "\n\nGive me a quick recap of this.",
    "\n\ntl;dr please",
    "\n\nBullet-point summary, please.",
)
_N2_PREFIX = ("Article: ", "Summarize: ", "First, please read the article below.\n\n", "Document:\n", "")


def n2(rng: random.Random, mat: Material) -> dict[str, Any]:
    payload = document(rng, mat)
    if rng.random() < 0.35:
        return user(rng.choice(_N2_PREFIX) + payload + rng.choice(_N2_SUFFIX))
    return user(combine(rng, pick(rng, _N2_ASK, k=str(rng.randint(2, 5))), payload))


_N3_PROBLEMS = (
    "A train leaves at {a}:00 travelling {b} km/h. Another leaves the same station {c} hours later at {d} km/h. When does the second catch up?",
    "Sara buys {a} notebooks at ${b} each and {c} pens at ${d} each. She pays with a $100 bill. How much change does she get?",
    "A tank fills in {a} hours and drains in {b} hours. If both are open, how long until it is full?",
    "If {a} workers build a wall in {b} days, how many days do {c} workers need, working at the same rate?",
    "A shirt costs ${a}. It is discounted by {b}% and then taxed at {c}%. What is the final price?",
    "Alice is {a} years older than Bob. In {b} years the sum of their ages will be {c}. How old is Bob now?",
    "There are {a} red and {b} blue balls in a bag. Two are drawn without replacement. What is the probability both are red?",
    "Three friends share a bill of ${a}. One pays {b} dollars more than each of the others. How much does each pay?",
    "A recipe needs {a} cups of flour for {b} cookies. How much flour for {c} cookies?",
    "If all bloops are razzies and some razzies are lazzies, can we conclude that some bloops are lazzies? Explain step by step.",
    "A farmer has {a} chickens and cows with {b} legs in total and {c} heads. How many cows are there?",
    "A cinema sells adult tickets at £{a} and child tickets at £{d}. It sold {b} tickets and took £{c}0. How many child tickets were sold?",
    "Lena reads {a} pages on weekdays and {b} pages on weekend days. How many weeks does she need to finish a {c}00-page book?",
    "A gym charges a £{a} joining fee and £{d} a month. Is it cheaper than £{b} per visit if I go {c} times a year?",
    "A phone plan costs ${a} a month plus ${d} per GB over {b} GB. Last month the bill was ${c}. How many GB were used?",
    "A population of {a}00 bacteria doubles every {b} hours. How many are there after {c} hours?",
    "Prove that the sum of two odd numbers is always even.",
    "Prove that there are infinitely many prime numbers.",
    "Order these from smallest to largest: {a}^{b}, {b}^{a} and {c}!.",
    "A clock shows 3:15. What is the angle between the hour and minute hands?",
    "Three boxes are labelled apples, oranges and mixed, and every label is wrong. You may take one fruit from one box. How do you fix the labels?",
    "Five runners finished a race. Dan beat Eve, Fay finished right after Gus, and Hal came fourth. Who could have won?",
    "If it takes {a} machines {a} minutes to make {a} widgets, how long would {c} machines take to make {c} widgets?",
    "I invest ${a}00 at {d}% interest compounded annually. How much will I have after {b} years?",
    "A runner covers the first half of a race at {b} km/h and the second half at {c} km/h. What is her average speed?",
    "A rectangle's length is {a} cm more than its width and its area is {c}0 cm². What are its dimensions?",
    "There are {a} people at a party and everyone shakes hands with everyone else once. How many handshakes are there?",
    "Two dice are rolled. What is the probability that the sum is {d} or more?",
)
_N3_WRAP = (
    "{p}",
    "{p} Think step by step.",
    "Solve this: {p}",
    "{p} Show your reasoning.",
    "Math problem: {p}",
    "Can you work this out? {p}",
    "{p} Explain each step before giving the final answer.",
    "Here's a puzzle: {p}",
    "{p} Please show all the steps.",
    "My daughter's homework asks: {p} Can you walk me through it?",
    "{p} Think carefully before answering.",
    "Quick brain teaser. {p}",
    "Step by step: {p}",
)


def n3(rng: random.Random, mat: Material) -> dict[str, Any]:
    nums = {k: str(rng.randint(2, 60)) for k in "abcd"}
    return user(pick(rng, _N3_WRAP, p=rng.choice(_N3_PROBLEMS).format(**nums)))


DOCUMENT_GENERATORS: dict[str, Gen] = {
    "N1": n1,
    "N2": n2,
    "N3": n3,
    "N4": n4,
    "N5": n5,
    "N6": n6,
}
