"""Matching a parent's question to knowledge-base entries.

Pure module (no I/O, no bot): build a `Matcher` once from the entries, then
`match(text)` returns every candidate's score and a decision:

- **answer**: confident — the top entry is good, clearly ahead of the next one,
  and the question carries a domain signal (an everyday word such as
  «оформить» or «пожаловаться» alone never answers);
- **clarify**: the question is general («что делать с сертификатом?») or two topics
  compete: ask which one it is, offering 2–4 entries;
- **suggest**: plausible — show the top 3 as buttons;
- **redirect**: a neighbouring service's question (Госуслуги accounts, school,
  kindergarten, benefits…): say where to go, carrying the content's redirect id;
- **fallback**: not about this bot's topics, and no idea whose;
- **smalltalk**: a greeting, thanks, «ты бот?» — a short friendly reply.

Scoring (all over lemmas, see `normalize.py`): an inverted index over every
phrasing; each entry gets the best idf-weighted overlap with one of its
phrasings, a BM25 score over all its phrasings together, the share of the
question's idf weight found anywhere in the entry (coverage), a bonus for its
keywords found in the question, and a rapidfuzz token-set similarity against
its nearest phrasings (typos the lemmatiser missed). A linear classifier
(scikit-learn's LinearSVC over word and character n-grams of the lemmas),
trained on the phrasings when the index is built, adds its softmax share: it
learns which words tell neighbouring entries apart, which the overlap scores
cannot. The weights and thresholds were tuned on the `tune` split of
bench/data/faq_eval.yaml only.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from bot.services.faq.normalize import SYNONYMS, Normalized, Normalizer, switch_layout

MAX_QUESTION_CHARS = 1000  # long stories: the question is matched on their beginning
FOCUS_MIN_CHARS = 160  # longer texts are also matched on their asking sentences alone


class Decision(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    SUGGEST = "suggest"
    REDIRECT = "redirect"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"


@dataclass(frozen=True)
class IndexEntry:
    """What the matcher needs of one knowledge-base entry."""

    id: str
    title: str
    questions: Sequence[str]
    keywords: Sequence[str] = ()
    topic: str | None = None  # the broader topic this entry is a part of


@dataclass(frozen=True)
class OutsideTopic:
    """A neighbouring service whose questions are not ours (content `outside:`): the matcher
    learns its phrasings as a class of their own and its words mark a question as foreign."""

    id: str
    questions: Sequence[str]
    words: Sequence[str] = ()  # words or short phrases that name this service («детский сад»)


@dataclass(frozen=True)
class ClarifyGroup:
    """A general question about one subject («что делать с сертификатом?») is asked back:
    when the question has one of `words` and otherwise only vague words, offer `options`."""

    id: str
    words: Sequence[str]
    options: Sequence[str]  # entry ids, 2-4
    companions: Sequence[str] = ()  # words that may come with the subject and keep it general


OTHER = "other"  # the outside topic of plain `outside:` lines without a category


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    question: str
    decision: Decision
    candidates: tuple[Candidate, ...]  # best first, up to 3
    smalltalk: str | None = None  # greeting | thanks | bot | bye
    english: bool = False  # written in English (not a layout slip)
    topic: str | None = None  # answer: the topic the answered entry declares (or its own id)
    redirect: str | None = None  # redirect: the outside topic's id
    clarify: str | None = None  # clarify: the content group that asked back (None: topics competed)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def id(self) -> str | None:
        return self.best.id if self.decision is Decision.ANSWER and self.best else None

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "decision": str(self.decision),
            "id": self.best.id if self.best and self.decision in _OFFERS else None,
            "score": round(self.score, 4),
            "candidates": [{"id": c.id, "score": round(c.score, 4)} for c in self.candidates],
            "topic": self.topic,
            "redirect": self.redirect,
        }


_OFFERS = frozenset({Decision.ANSWER, Decision.CLARIFY, Decision.SUGGEST})  # decisions that show entries


@dataclass(frozen=True)
class Thresholds:
    # Tuned on the `tune` split of bench/data/faq_eval.yaml only (holdout never used).
    answer: float = 0.55  # top score needed to answer
    margin: float = 0.15  # lead over the best entry of another topic needed to answer
    high: float = 0.80  # a top score this high needs only `high_margin` of lead
    high_margin: float = 0.01  # (a wrong answer costs more than a right one shown as a suggestion)
    suggest: float = 0.25  # top score needed to suggest
    suggest_no_domain: float = 0.45  # ... when the question has no domain word
    # a top score this high with one of the top entry's multi-word keywords in the
    # question («добавить ребенка», «нет мест») counts as a domain signal
    keyword_domain: float = 0.75
    # so does a very clear match without a domain word («ваш адрес и телефон»)
    strong: float = 0.72
    strong_lead: float = 0.30
    # ... and only when the top entry has (nearly) every telling word of the question:
    # «электронный адрес в Госуслугах» is not the МОЦ's address
    strong_cover: float = 0.90
    # a confident top is still asked back when another topic within `rival_gap` of it is named
    # by one of its keywords in the question and the top topic never uses that keyword's words
    rival_gap: float = 0.20
    # share of the classifier's softmax probability in the final score, and the
    # softmax temperature applied to its decision values
    w_classifier: float = 0.20
    temperature: float = 20.0
    # the classifier's probability of the "outside" class (content `outside:` phrasings)
    # that makes a question foreign
    outside: float = 0.50
    # two topics compete (no confident answer): ask back when the top score is at least
    # `clarify` and the other topics offered are within `clarify_gap` of it
    clarify: float = 0.40
    clarify_gap: float = 0.12
    # a long story's score: this share from its asking sentences alone, the rest from all of it
    w_focus: float = 0.5
    # weights of the overlap score parts (sum 1), fitted on `tune` as a softmax over
    # the candidates of each question and checked by two-fold cross-validation within it
    w_phrase: float = 0.11
    w_bm25: float = 0.25
    w_fuzzy: float = 0.23
    w_keyword: float = 0.18
    w_coverage: float = 0.23


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lemmas that say a question is about this bot's domain (additional education,
# the certificate, the Navigator, enrolment). The entries' keywords add to them.
# («баланс» is not one: phones, school meal cards and banks have a balance too.)
DOMAIN_LEMMAS: frozenset[str] = _words(
    "сертификат пфдо соцсертификат номинал навигатор кружок секция дополнительный "
    "допобразование программа заявка зачисление зачислить записаться запись "
    "записать моц рмц овз пмпк договор направленность студия учет финансирование "
    "персонифицированный персонифицировать реестр сертифицированный остаток резерв "
    "зарезервировать аккаунт кабинет регистрация зарегистрироваться зарегистрировать логин "
    "активация активировать аннулирование аннулировать отчисление отчислить отчислиться "
    "спортшкола художка музыкалка тренер педагог занятие соцзаказ опорный общеразвивающий "
    "предпрофессиональный кружка внеурочка робототехника творчество"
)

# Domain words other services use as well (a Госуслуги account, a kindergarten application):
# they do not let an entry claim a neighbour's word («заявление в детский сад в личном кабинете»)
SHARED_DOMAIN_LEMMAS: frozenset[str] = _words(
    "аккаунт кабинет регистрация зарегистрироваться зарегистрировать логин запись записаться "
    "записать заявка зачисление зачислить программа занятие педагог договор учет"
)

# Words that ask for a topic without saying what about it: a question made of a clarify
# group's subject and these only («что делать с сертификатом», «расскажите про навигатор»)
# is general, and the bot asks back.
VAGUE_LEMMAS: frozenset[str] = _words(
    "делать сделать быть вопрос рассказать рассказывать информация инфа узнать подробно "
    "подробный подробнее хотеть мочь знать нужно надо интересовать интересоваться помощь "
    "насчет касательно повод объяснить объяснять пояснить пояснять разъяснить разъяснение "
    "понять понимать непонятно разобраться тема дело ситуация вообще вариант ребенок сын дочь"
)


# ... of them, the ones that say nothing even about whom («хочу», «вопрос», «помощь»)
EMPTY_LEMMAS: frozenset[str] = VAGUE_LEMMAS - {"ребенок", "сын", "дочь"}


_GREETING = re.compile(
    r"^(привет\w*|здравствуй\w*|здрасьте|здрасте|добр\w+ (день|утро|вечер|ночи)|доброго времени суток|"
    r"хай|hi|hello|салют|доброе утро|добрый день|добрый вечер)$"
)
_THANKS = re.compile(
    r"^(спасибо|спс|благодар\w*|большое спасибо|спасибо большое|спасибо огромное|огромное спасибо|"
    r"thanks|thank you|пасиб\w*|супер спасибо|понятно спасибо|спасибо понятно|ок спасибо|"
    r"хорошо спасибо|отлично спасибо|спасибо за помощь|спасибо вам)$"
)
_BOT = re.compile(
    r"^(ты|вы)? ?(бот|робот|человек|живой|живой человек|настоящий человек)\b.*$|"
    r"^(кто ты|кто вы|ты кто|вы кто|с кем я говорю|с кем я разговариваю|это бот|это робот)$"
)
_BYE = re.compile(r"^(пока|до свидания|всего доброго|всего хорошего|bye)$")
_OK = re.compile(r"^(ок|окей|ok|okay|хорошо|понятно|ясно|ладно|отлично|супер|класс|угу|ага|да|нет)$")


def _smalltalk(text: str) -> str | None:
    t = " ".join(re.findall(r"[a-zа-я]+", text.lower().replace("ё", "е")))
    if not t:
        return None
    t2 = re.sub(r"\b(а|ну|ой|и|же|вам|тебе|пожалуйста)\b", " ", t)
    t2 = " ".join(t2.split())
    for kind, pattern in (("greeting", _GREETING), ("thanks", _THANKS), ("bye", _BYE), ("ok", _OK)):
        if pattern.match(t2):
            return kind
    if len(t2.split()) <= 6 and _BOT.match(t2):
        return "bot"
    parts = [p for p in re.split(r"\s+(?:и|,)\s+|\s{2,}", t2) if p]
    # «привет как дела», «здравствуйте спасибо»: only pleasantries
    words = t2.split()
    pleasant = {"привет", "здравствуйте", "здравствуй", "спасибо", "как", "дела", "ваши", "твои", "делишки"}
    if parts and words and all(w in pleasant for w in words) and words[0] in {"привет", "здравствуйте"}:
        return "greeting"
    return None


@dataclass
class Matcher:
    """An index over the entries; build once, then call `match()` for each question."""

    entries: Sequence[IndexEntry]
    thresholds: Thresholds = field(default_factory=Thresholds)
    normalizer: Normalizer | None = None
    # questions that are not this bot's business: the classifier learns them as one more
    # class, and a question it puts there is never answered
    outside: Sequence[str] = ()
    # the same, sorted by the neighbouring service they belong to (a redirect says where to go);
    # plain `outside` lines belong to OTHER
    topics: Sequence[OutsideTopic] = ()
    # general questions asked back
    clarify: Sequence[ClarifyGroup] = ()

    def __post_init__(self) -> None:
        base = self.normalizer or Normalizer()
        self._ids = [e.id for e in self.entries]
        self._index = {eid: i for i, eid in enumerate(self._ids)}
        self._family = [e.topic or e.id for e in self.entries]
        raw_phrases: list[tuple[int, Normalized]] = []
        keywords: list[list[tuple[str, ...]]] = []
        # the content itself is not typo-corrected (no vocabulary yet)
        for i, entry in enumerate(self.entries):
            for text in [entry.title, *entry.questions]:
                raw_phrases.append((i, base.normalize(text)))
            keywords.append([t for t in (base.normalize(k).tokens for k in entry.keywords) if t])
        vocabulary: set[str] = set()
        for _, norm in raw_phrases:
            vocabulary.update(norm.tokens)
        for kws in keywords:
            for kw in kws:
                vocabulary.update(kw)
        topics = list(self.topics)
        if self.outside:
            topics.append(OutsideTopic(OTHER, tuple(self.outside)))
        outside_ids: list[str] = []  # one classifier class per outside topic with phrasings
        outside_texts: list[tuple[int, str]] = []
        foreign: dict[tuple[str, ...], str] = {}  # lemmas of a topic's word -> its id
        outside_vocabulary: set[str] = set()
        for topic in topics:
            texts = [t for t in (" ".join(base.normalize(q).tokens) for q in topic.questions) if t]
            if texts:
                if topic.id not in outside_ids:
                    outside_ids.append(topic.id)
                outside_texts += [(outside_ids.index(topic.id), t) for t in texts]
                for t in texts:
                    vocabulary.update(t.split())
                    outside_vocabulary.update(t.split())
            for word in topic.words:
                lemmas = base.normalize(word).tokens
                if lemmas:
                    foreign.setdefault(lemmas, topic.id)
                    vocabulary.update(lemmas)
        self.normalizer = base.with_vocabulary(vocabulary)
        self._keywords = keywords
        self._keyword_sets = [[(frozenset(kw), len(kw)) for kw in kws] for kws in keywords]
        self._foreign = foreign
        self._outside_vocabulary = frozenset(outside_vocabulary)
        self._foreign_longest = max((len(k) for k in foreign), default=0)
        self._foreign_phrases = [(k, v) for k, v in foreign.items() if len(k) >= 2]
        self.domain = DOMAIN_LEMMAS - {k[0] for k in foreign if len(k) == 1}
        self._groups = [
            (
                group,
                frozenset(t for w in group.words for t in base.normalize(w).tokens),
                frozenset(t for w in group.companions for t in base.normalize(w).tokens),
            )
            for group in self.clarify
        ]
        # document frequencies over entries (an entry = all its phrasings and keywords)
        n = max(1, len(self.entries))
        entry_terms: list[dict[str, int]] = [defaultdict(int) for _ in self.entries]
        for i, norm in raw_phrases:
            for term in set(_terms(norm.tokens)):
                entry_terms[i][term] += 1
        for i, kws in enumerate(keywords):
            for kw in kws:
                for term in _terms(kw):
                    entry_terms[i][term] += 2
        df: dict[str, int] = defaultdict(int)
        for terms in entry_terms:
            for term in terms:
                df[term] += 1
        family_words: dict[str, set[str]] = defaultdict(set)
        for i, terms in enumerate(entry_terms):
            family_words[self._family[i]].update(t for t in terms if " " not in t)
        self._family_words = {f: frozenset(w) for f, w in family_words.items()}
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        # BM25 contribution of each term to each entry, precomputed (query independent)
        k1, b = 1.2, 0.5
        lengths = [sum(t.values()) for t in entry_terms]
        avg_len = (sum(lengths) / n) if lengths else 1.0
        bm25_rows: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for i, terms in enumerate(entry_terms):
            for term, tf in terms.items():
                denom = tf + k1 * (1 - b + b * lengths[i] / avg_len)
                rows = bm25_rows[term]
                rows[0].append(i)
                rows[1].append(tf * (k1 + 1) / denom)
        self._bm25 = {
            t: (np.asarray(ix, dtype=np.int64), np.asarray(w, dtype=np.float64))
            for t, (ix, w) in bm25_rows.items()
        }
        self._k1 = k1
        # phrasings, stored grouped by entry (every entry has at least its title)
        phrase_entry: list[int] = []
        phrase_norm: list[float] = []
        self._phrase_text: list[str] = []
        postings: dict[str, list[int]] = defaultdict(list)
        starts: list[int] = []
        for i, norm in raw_phrases:
            if not starts or phrase_entry[-1] != i:
                starts.append(len(phrase_entry))
            pterms = set(_terms(norm.tokens))
            pid = len(phrase_entry)
            phrase_entry.append(i)
            phrase_norm.append(sum(self._idf.get(t, 0.0) for t in pterms) or 1.0)
            self._phrase_text.append(" ".join(norm.tokens))
            for term in pterms:
                postings[term].append(pid)
        self._phrase_entry = np.asarray(phrase_entry, dtype=np.int64)
        self._phrase_norm = np.asarray(phrase_norm, dtype=np.float64)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ends = np.append(self._starts[1:], len(phrase_entry))
        self._postings = {t: np.asarray(p, dtype=np.int64) for t, p in postings.items()}
        n_ent = len(self.entries)
        self._outside_ids = outside_ids  # classes n_ent, n_ent + 1, ... are the outside topics
        self._classifier = _Classifier.train(
            [" ".join(norm.tokens) for _, norm in raw_phrases]
            + [" ".join(kw) for kws in keywords for kw in kws]
            + [t for _, t in outside_texts],
            [i for i, _ in raw_phrases]
            + [i for i, kws in enumerate(keywords) for _ in kws]
            + [n_ent + k for k, _ in outside_texts],
            n_ent + len(outside_ids),
        )
        self._has_outside = bool(outside_texts) and self._classifier.trained

    # --- scoring --------------------------------------------------------------------
    def _idf_of(self, term: str) -> float:
        return self._idf.get(term, self._unknown_idf if " " not in term else 0.0)

    def scores(self, norm: Normalized, top: int = 10) -> dict[int, float]:
        """Scores of the best `top` entries by the overlap parts, plus the classifier's top 3
        (index -> score)."""
        return self._scored(norm, top)[0]

    def _scored(self, norm: Normalized, top: int) -> tuple[dict[int, float], float, str | None]:
        """The scores, the classifier's probability that the question is outside (all outside
        topics together), and the most likely outside topic."""
        th = self.thresholds
        n_ent = len(self._ids)
        text = " ".join(norm.tokens)
        outside, outside_topic = 0.0, None
        share = np.zeros(n_ent)
        if text:
            probabilities = self._classifier.probabilities(text, th.temperature)
            share = probabilities[:n_ent]
            if self._has_outside:
                rest = probabilities[n_ent:]
                outside = float(rest.sum())
                outside_topic = self._outside_ids[int(np.argmax(rest))]
        q_terms = [t for t in dict.fromkeys(_terms(norm.tokens))]
        q_norm = sum(self._idf_of(t) for t in q_terms)
        known = [t for t in q_terms if t in self._idf]
        if q_norm <= 0 or not known or not len(self._phrase_entry):
            return {}, outside, outside_topic
        n_phr = len(self._phrase_entry)
        lists = [(self._postings[t], self._idf[t]) for t in known if t in self._postings]
        idx = np.concatenate([p for p, _ in lists]) if lists else np.zeros(0, dtype=np.int64)
        w = np.concatenate([np.full(len(p), wt) for p, wt in lists]) if lists else np.zeros(0)
        shared = np.bincount(idx, weights=w, minlength=n_phr)
        sim = 2 * shared / (q_norm + self._phrase_norm)  # Dice over idf weights
        phrase_best = np.maximum.reduceat(sim, self._starts)
        bidx = np.concatenate([self._bm25[t][0] for t in known])
        bw = np.concatenate([self._bm25[t][1] * self._idf[t] for t in known])
        bm25 = np.bincount(bidx, weights=bw, minlength=n_ent)
        bm25 = np.minimum(1.0, bm25 / (q_norm * (self._k1 + 1)) * 2.2)
        # coverage: the share of the question's idf weight found anywhere in the entry
        cw = np.concatenate([np.full(len(self._bm25[t][0]), self._idf[t]) for t in known])
        coverage = np.bincount(bidx, weights=cw, minlength=n_ent) / q_norm
        prelim = th.w_phrase * phrase_best + th.w_bm25 * bm25 + th.w_coverage * coverage
        k = min(top, n_ent)
        best = set(np.argpartition(-prelim, k - 1)[:k].tolist())
        best.update(np.argpartition(-share, min(3, n_ent) - 1)[: min(3, n_ent)].tolist())
        q_set = set(norm.tokens)
        w_lex = 1.0 - th.w_classifier
        result: dict[int, float] = {}
        for i in sorted(best):
            if prelim[i] <= 0 and share[i] <= 0:
                continue
            kw_hit = 0.0
            for kw_set, kw_len in self._keyword_sets[i]:
                if kw_set <= q_set:
                    kw_hit = max(kw_hit, min(1.0, 0.5 + 0.25 * kw_len))
            lo, hi = int(self._starts[i]), int(self._ends[i])
            pid = lo + int(np.argmax(sim[lo:hi]))
            fuzzy = fuzz.token_set_ratio(text, self._phrase_text[pid]) / 100.0
            lexical = float(prelim[i]) + th.w_fuzzy * fuzzy + th.w_keyword * kw_hit
            result[i] = w_lex * lexical + th.w_classifier * float(share[i])
        return result, outside, outside_topic

    def foreign_topic(self, tokens: Sequence[str], claimed: Iterable[frozenset[str]] = ()) -> str | None:
        """The outside topic one of whose words (or short phrases) the question has; a word that
        is among `claimed` (an entry's keywords: «садик» for the certificate of a preschooler)
        does not count."""
        owned = [kw for kw in claimed]
        for size in range(min(self._foreign_longest, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                phrase = tuple(tokens[start : start + size])
                hit = self._foreign.get(phrase)
                if hit is not None and not any(set(phrase) <= kw for kw in owned):
                    return hit
        # a phrase with whom it is about inside («перевести ребенка в другую школу»)
        bare = [t for t in tokens if t not in _WHOM]
        if len(bare) == len(tokens):
            return None
        for phrase, hit in self._foreign_phrases:
            if _contains(bare, phrase) and not any(set(phrase) <= kw for kw in owned):
                return hit
        return None

    def general_group(self, tokens: Sequence[str]) -> ClarifyGroup | None:
        """The clarify group of a general question: its subject and otherwise vague words only."""
        lemmas = set(tokens)
        if not lemmas:
            return None
        for group, subject, companions in self._groups:
            if lemmas & subject and lemmas <= subject | companions | VAGUE_LEMMAS:
                return group
        return None

    # --- the decision ---------------------------------------------------------------
    def match(self, question: str) -> MatchResult:
        assert self.normalizer is not None
        text = question[:MAX_QUESTION_CHARS]
        talk = _smalltalk(text)
        if talk is None and re.search(r"[a-zA-Z]", text) and not re.search(r"[а-яА-ЯёЁ]", text):
            talk = _smalltalk(switch_layout(text))  # «ghbdtn» is «привет» typed in the wrong layout
        if talk is not None:
            return MatchResult(question, Decision.SMALLTALK, (), smalltalk=talk)
        norm = self.normalizer.normalize(text)
        english = norm.latin_words > 0 and norm.latin_words * 2 >= norm.words
        scored, outside, outside_topic = self._scored(norm, 10)
        asked = focus(text)
        if asked is not None:  # a long story: its question sentences weigh as much as the whole
            focused, _, _ = self._scored(self.normalizer.normalize(asked), 10)
            w = self.thresholds.w_focus
            scored = {
                i: (1 - w) * scored.get(i, 0.0) + w * focused.get(i, 0.0)
                for i in scored.keys() | focused.keys()
            }
        ranked = sorted(scored.items(), key=lambda kv: kv[1], reverse=True)
        candidates = tuple(Candidate(self._ids[i], round(s, 4)) for i, s in ranked[:3])
        th = self.thresholds
        lemmas = set(norm.tokens)
        # the best entry may claim a foreign word by its keywords, when the question also has
        # a domain word («кружок в садике по сертификату»)
        claimed = (
            [kw for kw, _ in self._keyword_sets[ranked[0][0]]]
            if ranked and lemmas & (self.domain - SHARED_DOMAIN_LEMMAS)
            else []
        )
        word_topic = self.foreign_topic(norm.tokens, claimed)
        redirect = word_topic or outside_topic
        # the classifier's outside share counts when the question has a word of the outside lines
        # (on gibberish its character n-grams say nothing)
        foreign = word_topic is not None or (
            outside >= th.outside and any(t in self._outside_vocabulary or t in self._idf for t in lemmas)
        )
        top = ranked[0][1] if ranked else 0.0
        domain_word = domain = bool(lemmas & self.domain)
        if not ranked or top < th.suggest:
            if foreign and not domain and redirect is not None and not english:
                return MatchResult(question, Decision.REDIRECT, candidates, redirect=redirect)
            return MatchResult(question, Decision.FALLBACK, candidates, english=english)
        top_i = ranked[0][0]
        # the runner-up of the same topic family is no real doubt: either answer fits
        family = self._family[top_i]
        second = max((sc for i, sc in ranked[1:6] if self._family[i] != family), default=0.0)
        lead = top - second
        domain = (
            domain
            # a clear match of a question with two words that say something («Настройка
            # уведомлений»), not one everyday word («хочу пожаловаться», «оформить»)
            or (
                top >= th.strong
                and lead >= th.strong_lead
                and len(lemmas - EMPTY_LEMMAS) >= 2
                and self._cover(top_i, lemmas - EMPTY_LEMMAS) >= th.strong_cover
            )
            or (
                top >= th.keyword_domain
                and any(n >= 2 and kw <= lemmas for kw, n in self._keyword_sets[top_i])
            )
        )
        # a neighbour's question («пособие», «садик», or like the outside lines): redirected unless it
        # has a domain word (a close match alone does not keep it ours); with one, it is not answered
        if foreign and redirect is not None and not domain_word:
            return MatchResult(question, Decision.REDIRECT, candidates, redirect=redirect)
        if domain and not foreign:
            group = self.general_group(norm.tokens)
            if group is not None:
                offered = tuple(
                    Candidate(eid, round(scored.get(self._index[eid], 0.0), 4))
                    for eid in group.options
                    if eid in self._index
                )
                if len(offered) >= 2:
                    return MatchResult(question, Decision.CLARIFY, offered[:4], clarify=group.id)
            confident = (top >= th.answer and lead >= th.margin) or (
                top >= th.high and lead >= th.high_margin
            )
            rival = self._keyword_rival(ranked, lemmas) if confident else None
            if confident and rival is None:
                return MatchResult(question, Decision.ANSWER, candidates, topic=family)
            if rival is not None:
                offered = (Candidate(self._ids[top_i], round(top, 4)), rival)
                return MatchResult(question, Decision.CLARIFY, offered)
            competing = self._competing(ranked)
            if top >= th.clarify and len(competing) >= 2:
                return MatchResult(question, Decision.CLARIFY, competing)
        if (foreign or not domain) and (top < th.suggest_no_domain or (foreign and not domain)):
            return MatchResult(question, Decision.FALLBACK, candidates, english=english)
        return MatchResult(question, Decision.SUGGEST, candidates)

    def _keyword_rival(self, ranked: Sequence[tuple[int, float]], lemmas: set[str]) -> Candidate | None:
        """Another topic close to the top one whose keyword is in the question while the top
        topic never uses that keyword's words («… заявку в госуслугах»: the application's status
        or the Госуслуги application?)."""
        th = self.thresholds
        if th.rival_gap <= 0 or not ranked:
            return None
        top_i, top = ranked[0]
        family = self._family[top_i]
        known = self._family_words[family]
        for i, score in ranked[1:6]:
            if self._family[i] == family or score < top - th.rival_gap:
                continue
            for kw, _ in self._keyword_sets[i]:
                if kw <= lemmas and not kw & known:
                    return Candidate(self._ids[i], round(score, 4))
        return None

    def _cover(self, i: int, lemmas: Iterable[str]) -> float:
        """The idf-weighted share of these words found in entry `i`'s topic family (its entries'
        phrasings and keywords)."""
        words = list(lemmas)
        known = self._family_words[self._family[i]]
        total = sum(self._idf_of(t) for t in words)
        # a heading's noun («Настройка») counts when the verb it adds («настроить») is there
        found = sum(self._idf_of(t) for t in words if t in known or SYNONYMS.get(t) in known)
        return found / total if total > 0 else 0.0

    def _competing(self, ranked: Sequence[tuple[int, float]]) -> tuple[Candidate, ...]:
        """The best entry of each topic family close to the top one (up to 4)."""
        th = self.thresholds
        top = ranked[0][1]
        seen: set[str] = set()
        chosen: list[Candidate] = []
        for i, score in ranked[:8]:
            if score < top - th.clarify_gap or len(chosen) == 4:
                break
            if self._family[i] in seen:
                continue
            seen.add(self._family[i])
            chosen.append(Candidate(self._ids[i], round(score, 4)))
        return tuple(chosen)

    def ids(self) -> list[str]:
        return list(self._ids)


class _Classifier:
    """LinearSVC over word (1-2) and character (2-5, within words) tf-idf n-grams of the
    lemmatised phrasings, one class per entry. Its decision values become a softmax share."""

    def __init__(
        self, vectorizer: FeatureUnion | None, weights: sparse.csr_matrix | None, bias: np.ndarray, n: int
    ) -> None:
        self._vectorizer = vectorizer
        self._weights = weights  # (features, entries), small weights pruned
        self._bias = bias
        self._n = n
        # per part of the union: its analyser, vocabulary, idf and column offset. `features()`
        # does what the fitted vectorizer's transform does for one text, without scikit-learn's
        # per-call checks (most of a long question's time)
        self._parts: list[tuple[Callable[[str], list[str]], dict[str, int], np.ndarray, int]] = []
        offset = 0
        for _, part in vectorizer.transformer_list if vectorizer is not None else ():
            self._parts.append((part.build_analyzer(), part.vocabulary_, part.idf_, offset))
            offset += len(part.vocabulary_)

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[int], n: int) -> _Classifier:
        # nothing to tell apart (one entry, or no phrasing with a word in it): uniform shares
        if len(set(labels)) < 2 or not any(t.strip() for t in texts):
            return cls(None, None, np.zeros(n), n)
        vectorizer = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, dtype=np.float32
                    ),
                ),
            ]
        )
        try:
            features = vectorizer.fit_transform(texts)
        except ValueError:  # no word of two letters anywhere («я», «?»): the overlap scores decide
            return cls(None, None, np.zeros(n), n)
        model = LinearSVC(C=1.0, random_state=0)
        with warnings.catch_warnings():
            # tiny or odd knowledge bases may stop before full convergence; the model still ranks
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(features, np.asarray(labels))
        coef = np.zeros((n, features.shape[1]), dtype=np.float32)
        bias = np.full(n, -1e3)  # an entry with no phrasing can never win
        if len(model.classes_) == 2:  # binary: one row, the second class positive
            coef[model.classes_[1]] = model.coef_[0]
            coef[model.classes_[0]] = -model.coef_[0]
            bias[model.classes_[1]], bias[model.classes_[0]] = model.intercept_[0], -model.intercept_[0]
        else:
            coef[model.classes_] = model.coef_
            bias[model.classes_] = model.intercept_
        coef[np.abs(coef) < 1e-3] = 0.0  # most weights are tiny: a sparse matrix is 4x smaller
        return cls(vectorizer, sparse.csr_matrix(coef.T), bias, n)

    @property
    def trained(self) -> bool:
        return self._vectorizer is not None

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and values of the text's tf-idf vector (sublinear tf, each part l2-normed)."""
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for analyze, vocabulary, idf, offset in self._parts:
            counts: dict[int, int] = {}
            for gram in analyze(text):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(tf)) * idf[ids]
            columns.append(ids + offset)
            values.append(weights / np.linalg.norm(weights))
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)

    def probabilities(self, text: str, temperature: float) -> np.ndarray:
        if self._vectorizer is None or self._weights is None:
            return np.ones(self._n) / max(1, self._n)
        columns, weights = self.features(text)
        values = np.asarray(self._weights[columns].T @ weights).ravel() if len(columns) else np.zeros(self._n)
        logits = (values + self._bias) * temperature
        logits -= logits.max()
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum())


_SENTENCE_END = re.compile(r"(?<=[.!?…\n])\s*")
_ASKING = re.compile(
    r"\?|\b(как|что делать|куда|где|почему|зачем|сколько|можно ли|нужно ли|надо ли|подскажите|"
    r"скажите|объясните|помогите|правда ли|могут ли|должны ли|обязаны ли|когда)\b"
)


def focus(text: str) -> str | None:
    """The asking sentences of a long story («…мы переехали… Как нам быть?»), or None when the
    text is short or every sentence asks."""
    if len(text) < FOCUS_MIN_CHARS:
        return None
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 2]
    asking = [s for s in sentences if _ASKING.search(s.lower())]
    if len(sentences) < 2 or not asking or len(asking) == len(sentences):
        return None
    return " ".join(asking)


# whom a question is about: skipped inside a neighbouring service's phrase
_WHOM = frozenset(
    ["ребенок", "сын", "дочь", "дочка", "внук", "внучка", "малыш", "я", "мы", "он", "она", "они"]
)


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == tuple(phrase) for i in range(len(tokens) - n + 1))


def _terms(tokens: Iterable[str]) -> list[str]:
    """Unigrams and adjacent bigrams (bigrams carry word order: «сертификат учет»)."""
    tokens = list(tokens)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
