//! Walking a paged list one page at a time: which page to ask for next, and when the
//! last one has been seen. [`super::Client::walk`] gathers every page with it; a caller
//! that streams what it finds (and may stop early) drives it page by page.

use super::contract;
use super::models::Page;

/// Where a walk of a paged list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    /// The page to ask for next; `None` once the last page was seen.
    next: Option<u32>,
    size: u32,
    /// Whether the walk stopped at [`contract::MAX_WALK_PAGES`] with pages left.
    cut_short: bool,
}

impl Default for PageCursor {
    fn default() -> Self {
        PageCursor::new()
    }
}

impl PageCursor {
    /// A walk from the first page, [`contract::WALK_PAGE_SIZE`] items a page.
    pub fn new() -> PageCursor {
        PageCursor {
            next: Some(contract::FIRST_PAGE),
            size: contract::WALK_PAGE_SIZE,
            cut_short: false,
        }
    }

    /// The page number and size to ask for next; `None` when the walk is over.
    pub fn next_page(&self) -> Option<(u32, u32)> {
        self.next.map(|page| (page, self.size))
    }

    /// Takes note of the answer to the page last asked for. The walk is over at the
    /// last page the server announces, or, when it announces none, at an empty or
    /// short page; and after [`contract::MAX_WALK_PAGES`] pages in any case.
    pub fn advance<T>(&mut self, answer: &Page<T>) {
        let Some(page) = self.next else {
            return;
        };
        let n = answer.items.len();
        let last = if answer.total_page > 0 {
            page >= answer.total_page
        } else {
            n < self.size as usize
        };
        let over = n == 0 || last;
        self.cut_short = !over && page >= contract::MAX_WALK_PAGES;
        self.next = if over || self.cut_short {
            None
        } else {
            Some(page + 1)
        };
    }

    /// Whether the walk stopped at [`contract::MAX_WALK_PAGES`] although the server
    /// announced more: a gathering walk says so instead of answering a part.
    pub fn cut_short(&self) -> bool {
        self.cut_short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(items: usize, total_page: u32) -> Page<u8> {
        Page {
            items: vec![0; items],
            total_page,
            ..Page::default()
        }
    }

    #[test]
    fn walks_to_the_last_announced_page() {
        let mut cursor = PageCursor::new();
        assert_eq!(cursor.next_page(), Some((1, contract::WALK_PAGE_SIZE)));
        cursor.advance(&page(50, 3));
        assert_eq!(cursor.next_page().map(|p| p.0), Some(2));
        cursor.advance(&page(50, 3));
        cursor.advance(&page(20, 3));
        assert_eq!(cursor.next_page(), None);
        cursor.advance(&page(20, 3));
        assert_eq!(cursor.next_page(), None, "stays over");
    }

    #[test]
    fn without_a_page_count_a_short_or_empty_page_is_the_last() {
        let mut cursor = PageCursor::new();
        cursor.advance(&page(50, 0));
        assert_eq!(cursor.next_page().map(|p| p.0), Some(2));
        cursor.advance(&page(49, 0));
        assert_eq!(cursor.next_page(), None);

        let mut cursor = PageCursor::new();
        cursor.advance(&page(0, 7));
        assert_eq!(cursor.next_page(), None, "an empty page ends it");
    }

    #[test]
    fn a_walk_stopped_by_the_page_bound_says_so() {
        let mut cursor = PageCursor::new();
        for _ in 1..contract::MAX_WALK_PAGES {
            cursor.advance(&page(50, u32::MAX));
        }
        assert!(!cursor.cut_short());
        cursor.advance(&page(50, u32::MAX));
        assert_eq!(cursor.next_page(), None);
        assert!(cursor.cut_short(), "pages were left: not a whole list");
    }
}
