"""The live matcher: built once per knowledge base, rebuilt when content reloads."""

from __future__ import annotations

import logging
import threading
import weakref
from functools import lru_cache

from bot.content import Content, ContentStore
from bot.services.faq.knowledge import FAQ_DIR, KnowledgeBase
from bot.services.faq.matcher import ClarifyGroup, IndexEntry, Matcher, OutsideTopic
from bot.services.faq.normalize import Normalizer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: weakref.WeakKeyDictionary[ContentStore, FaqEngine] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=1)
def shared_normalizer() -> Normalizer:
    """pymorphy3's dictionaries load once per process."""
    return Normalizer()


def knowledge_base(content: Content) -> KnowledgeBase:
    kb = content.section(FAQ_DIR)
    assert isinstance(kb, KnowledgeBase)
    return kb


Fingerprint = tuple[
    tuple[IndexEntry, ...], tuple[str, ...], tuple[OutsideTopic, ...], tuple[ClarifyGroup, ...]
]


def index_entries(kb: KnowledgeBase) -> list[IndexEntry]:
    return [IndexEntry(e.id, e.title, e.questions, e.keywords, e.topic) for e in kb]


def outside_topics(kb: KnowledgeBase) -> list[OutsideTopic]:
    """The neighbouring services of the content, as the matcher learns them."""
    return [OutsideTopic(r.id, r.questions, r.words) for r in kb.redirects]


def clarify_groups(kb: KnowledgeBase) -> list[ClarifyGroup]:
    return [ClarifyGroup(c.id, c.words, c.options, c.companions) for c in kb.clarify]


def _fingerprint(kb: KnowledgeBase) -> Fingerprint:
    return (
        tuple(index_entries(kb)),
        kb.outside,
        tuple(outside_topics(kb)),
        tuple(clarify_groups(kb)),
    )


@lru_cache(maxsize=4)
def _build(fingerprint: Fingerprint) -> Matcher:
    entries, outside, topics, groups = fingerprint
    return Matcher(
        list(entries), outside=outside, topics=topics, clarify=groups, normalizer=shared_normalizer()
    )


def build_matcher(kb: KnowledgeBase) -> Matcher:
    """A matcher for this knowledge base (identical content shares one index)."""
    return _build(_fingerprint(kb))


class FaqEngine:
    """Holds the matcher for one ContentStore and swaps it on /reload."""

    def __init__(self, store: ContentStore) -> None:
        self._kb = knowledge_base(store.current)
        self._matcher = build_matcher(self._kb)
        store.on_reload(self._on_reload)

    def _on_reload(self, content: Content) -> None:
        kb = knowledge_base(content)
        matcher = build_matcher(kb)
        self._kb, self._matcher = kb, matcher
        logger.info("FAQ matcher rebuilt: %d entries", len(kb))

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb


def engine_for(store: ContentStore) -> FaqEngine:
    with _lock:
        engine = _engines.get(store)
        if engine is None:
            engine = _engines[store] = FaqEngine(store)
        return engine
