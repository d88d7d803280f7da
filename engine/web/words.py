"""Looking up a page's words: Swedish first, English too, from one or more tables in order.

Each group of pages keeps its own table (`engine.web.ui.words` for the operator's pages and
their extensions, `engine.web.public.words` for the public ones); `WordTable` is the one lookup
they share. Templates read `w.key`, and `w.f(key, name=value)` fills a text's blanks.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("sv", "en")
Texts = dict[str, tuple[str, str]]  # key: (Swedish, English)


class WordTable:
    """The texts of `tables` in one language; the first table holding a key wins."""

    def __init__(self, language: str, *tables: Texts) -> None:
        self.language = language if language in LANGUAGES else "sv"
        self._index = LANGUAGES.index(self.language)
        self._tables = tables

    def _text(self, key: str) -> str:
        for table in self._tables:
            found = table.get(key)
            if found is not None:
                return found[self._index]
        raise AttributeError(key)

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):  # attributes of the object itself, not words
            raise AttributeError(key)
        return self._text(key)

    def f(self, key: str, **values: Any) -> str:
        return self._text(key).format(**values)
