"""Page-number paging as a small strategy object, in the manner of dlt's REST client paginators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ninepic_pipeline.api.errors import GalleryReadError, RequestScope
from ninepic_pipeline.api.models import Pagination

MAX_PAGE_SIZE = 100
# 20,000 pages of 100 is two million photos: far past the largest gallery, near enough that a
# server whose hasNextPage never ends is stopped within minutes rather than never.
DEFAULT_MAX_PAGES = 20_000


@dataclass(frozen=True)
class PageNumberPaginator:
    """Asks for pages 1, 2, ... and decides from each page's pagination whether to go on."""

    page_size: int = MAX_PAGE_SIZE
    max_pages: int = DEFAULT_MAX_PAGES
    first_page: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {self.page_size}")
        if self.max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {self.max_pages}")

    def params(self, page: int) -> dict[str, Any]:
        return {"page": page, "page_size": self.page_size}

    def next_page(
        self, page: int, pagination: Pagination, items: int, scope: RequestScope
    ) -> int | None:
        """The page to ask for after `page`, or None when the listing has ended.

        It ends on an empty result (`currentPage: 0`), on an empty page, when `hasNextPage` is
        false, or at `totalPages`, whichever comes first: a server that keeps saying
        `hasNextPage` past `totalPages` is not followed. Passing the page cap is an error, never
        a silent truncation.
        """
        if pagination.current_page == 0 or items == 0:
            return None
        if not pagination.has_next_page or page >= pagination.total_pages:
            return None
        if page + 1 > self.max_pages:
            raise GalleryReadError(
                f"{scope.describe()} has more than {self.max_pages} pages of {self.page_size} "
                f"(the API reports {pagination.total_pages}); raise the page cap if the gallery "
                "really is that large",
                scope,
            )
        return page + 1
