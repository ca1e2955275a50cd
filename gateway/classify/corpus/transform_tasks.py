"""Synthetic prompts for N4-N6, the tasks that transform a text: extract from it, translate it, restyle it."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

import random
from typing import Any

from gateway.classify.corpus.common import Material, combine, pick, user
from gateway.classify.corpus.documents import DOCUMENTS
from gateway.classify.corpus.prose_material import document
from gateway.classify.corpus.texts import FOREIGN, LANGUAGES, SHORT_SENTENCES

_N4_ASK = (
    "Extract all the people, organisations and places mentioned in this text.",
    "List every date and amount of money in the passage below.",
    "From the text below, pull out the name, birth date and occupation.",
    "What key facts can be extracted from the following?",
    "Find all email addresses and phone numbers in this message.",
    "Identify the company names and their revenue figures in this article.",
    "Extract the answer to this question from the passage: who is mentioned first?",
    "Pull the action items and their owners out of this transcript.",
    "Which products and prices appear in this review? Extract them.",
    "Extract the key terms (rent, deposit, notice period) from this contract.",
    "Read the text and list the named entities with their types.",
    "Get me the dates, locations and numbers from this report.",
    "What are the supplier, amount and due date on this bill?",
    "Who is mentioned here, and in what capacity?",
    "From the text below, list all the deadlines and who owns each one.",
    "What is the notice period in this contract? Quote the clause.",
    "Which drugs are prescribed here, at what strength?",
    "Route this message to the right queue: payments, bugs, sales or general.",
    "Rate the sentiment of each comment from -1 to 1.",
    "Assign an intent label to every message below.",
    "Categorise this support ticket by product area and urgency.",
    "Is this email a complaint, a question or a request? Answer with one word.",
    "Which of these categories does the text belong to: finance, health, sport, politics, technology?",
    "From this résumé, what roles has the person held?",
    "What obligations does each party have under this agreement?",
    "Extract the action items and their owners from these notes.",
    "Find the order number and the amount the customer was charged.",
    "Which dates appear in this text, and what happens on each?",
    "What's the total due and when is it due?",
    "Extract the customer's name, account plan and the problem they report.",
    "List the products mentioned and the complaint about each.",
    "Does this text mention a refund? If so, how much and when?",
    "Parse the following and give me the sender, the subject and the request being made.",
)


def n4(rng: random.Random, mat: Material) -> dict[str, Any]:
    payload = document(rng, mat) if rng.random() < 0.75 else rng.choice(mat.passages)
    return user(combine(rng, pick(rng, _N4_ASK), payload))


_N5_ASK = (
    "Translate the following text into {lang}.",
    "Please translate this into {lang}:",
    "Can you translate this {src} passage to {lang}? Keep the tone.",
    "Translate to {lang}:",
    "How would you say this in {lang}?",
    "{lang} translation please:",
    "Render this in {lang}, keeping it formal.",
    "I need this in {lang} for a client:",
    "Translate from {src} into {lang}, preserving names and numbers.",
    "What does this mean in {lang}? Give a faithful translation.",
    "Übersetze bitte ins {lang}:",
    "Traduis ce texte en {lang} :",
    "Traduce este texto al {lang}:",
    "Переведи на {lang}:",
    "请翻译成{lang}：",
    "Please turn the passage below into {lang}.",
    "Translate this message for our partners in {lang}:",
    "I need a {lang} version of this for the office:",
    "Translate this {src} sign into {lang}.",
    "Please provide a {lang} version of the text below.",
    "What would this be in {lang}?",
    "Translate into {lang}:",
    "Can you do a quick {src} to {lang} translation of this?",
    "Make this {lang}, please:",
    "Convert this text to {lang}.",
    "Render the following into {lang}:",
    "Could you do this one in {lang}?",
    "Rewrite this in {lang} for our readers there.",
    "{lang}, please:",
)


_N5_PHRASES = (
    "good morning, how are you",
    "thank you for your help",
    "the meeting is cancelled",
    "I would like a coffee",
    "where is the nearest pharmacy",
    "happy birthday",
    "see you tomorrow",
    "I am allergic to peanuts",
    "the lift is out of order",
    "my flight has been cancelled",
    "is breakfast included",
    "we are running ten minutes late",
)
_N5_SHORT = (
    "How do I say '{p}' in {lang}?",
    "What's '{p}' in {lang}?",
    "What is the {lang} for '{p}'?",
    'How would a native speaker say "{p}" in {lang}?',
    "{lang} for '{p}', please.",
    'How do you say "{p}" in {lang}?',
    "Could you translate '{p}' into {lang}?",
    "Translate '{p}' to {lang}.",
)


def n5(rng: random.Random, mat: Material) -> dict[str, Any]:
    if rng.random() < 0.2:
        return user(pick(rng, _N5_SHORT, p=rng.choice(_N5_PHRASES), lang=rng.choice(LANGUAGES[1:])))
    if rng.random() < 0.6:
        src, text = rng.choice(FOREIGN)
    else:
        src, text = "English", rng.choice(mat.passages + SHORT_SENTENCES + DOCUMENTS)
    lang = rng.choice([lang for lang in LANGUAGES if lang != src])
    return user(combine(rng, pick(rng, _N5_ASK, lang=lang, src=src), text))


_N6_ASK = (
    "Rewrite this in a more formal tone.",
    "Make this sound friendlier and more casual.",
    "Rewrite the following as a pirate would say it.",
    "Paraphrase this in Shakespearean English.",
    "Rewrite this comment so it is polite and non-offensive, keeping the meaning.",
    "Change the sentiment of this review from negative to positive.",
    "Rewrite this image caption in a romantic style.",
    "Make this more concise and professional.",
    "Rewrite this so a ten-year-old could understand it.",
    "Turn this into corporate speak.",
    "Rephrase in the style of Ernest Hemingway.",
    "Make the tone of this email less aggressive.",
    "Rewrite this paragraph in the passive voice.",
    "Give this text a humorous twist.",
    "Rewrite in plain English, no jargon.",
    "Make this message diplomatic; it's going to a client.",
    "Loosen this up a bit, it reads like a legal notice.",
    "Rewrite this memo as a chatty team update.",
    "This sounds harsh. Can you make it gentler?",
    "Rewrite this as a 1940s noir detective would narrate it.",
    "Turn this complaint into praise, keeping the details.",
    "Tighten this up and cut the passive constructions.",
    "Make this sound more confident and less apologetic.",
    "Rephrase this so it's gender-neutral.",
    "Rewrite this as if Shakespeare had written it.",
    "Give this a warmer, more human tone for our customers.",
    "Make this sound more professional for LinkedIn.",
    "Rewrite this paragraph in a more academic register.",
    "Tone this down, it reads as too aggressive.",
    "Can you reword this to sound friendlier?",
    "Rewrite the following as a haiku-style, poetic description.",
    "Change the tone from angry to calm, keep all the facts.",
)


def n6(rng: random.Random, mat: Material) -> dict[str, Any]:
    text = rng.choice(SHORT_SENTENCES) if rng.random() < 0.4 else document(rng, mat)
    return user(combine(rng, pick(rng, _N6_ASK), text))
