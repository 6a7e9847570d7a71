//! Pagination shared by every list endpoint: `?page=1&per_page=50` (at most 100), answered with
//! `{"items": [...], "total": N, "page": P, "per_page": K}`.

use crate::error::{Error, FieldError};
use serde::{Deserialize, Serialize};

/// Largest page size.
pub const MAX_PER_PAGE: u32 = 100;
/// Largest page number (the document declares it as the parameter's `maximum`).
pub const MAX_PAGE: u32 = 1_000_000;

/// Query parameters.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number (default 1, at most 1,000,000).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 100).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based.
    pub page: u32,
    /// 1..=100.
    pub per_page: u32,
}

impl PageQuery {
    /// Validate, with defaults page 1 and 50 per page.
    pub fn validate(self) -> Result<Page, Error> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        let mut fields = Vec::new();
        if page == 0 || page > MAX_PAGE {
            fields.push(FieldError::new("page", "must be from 1 to 1000000"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            fields.push(FieldError::new("per_page", "must be from 1 to 100"));
        }
        if fields.is_empty() {
            Ok(Page { page, per_page })
        } else {
            Err(Error::invalid(fields))
        }
    }
}

impl Page {
    /// SQL `LIMIT`.
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    /// SQL `OFFSET`.
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paginated<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items across all pages.
    pub total: i64,
    /// This page.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

impl<T> Paginated<T> {
    /// Cut one page out of a complete, already sorted list (for small collections).
    pub fn from_vec(all: Vec<T>, page: Page) -> Self {
        let total = all.len() as i64;
        let items = all
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.per_page as usize)
            .collect();
        Paginated {
            items,
            total,
            page: page.page,
            per_page: page.per_page,
        }
    }

    /// Wrap one page.
    pub fn new(items: Vec<T>, total: i64, page: Page) -> Self {
        Paginated {
            items,
            total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}
