//! The dashboard, an account's page with its history, and statements.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_htmx::HxRequest;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::error::PageError;
use crate::filters;
use bank_api::AccountNumber;

use crate::logic::types::{Account, AccountStatus, Entry, FreezeScope};
use crate::session::Customer;
use crate::state::AppState;

/// Entries per page of history: a screenful.
const HISTORY_PAGE: u32 = 25;
/// A `from`–`to` pair of optional days, or the message to show beside them.
fn day_range(from: &str, to: &str) -> Result<(Option<Date>, Option<Date>), &'static str> {
    let (from, to) = (super::parse_day(from)?, super::parse_day(to)?);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err("The first date must not be after the second.");
    }
    Ok((from, to))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/accounts/{number}", get(account))
        .route("/accounts/{number}/entries", get(entries))
        .route("/accounts/{number}/statement", get(statement))
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    username: String,
    accounts: Vec<Account>,
}

async fn dashboard(
    State(state): State<AppState>,
    customer: Customer,
) -> Result<DashboardPage, PageError> {
    let accounts = state.logic.my_accounts(customer.caller()).await?;
    Ok(DashboardPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "accounts",
        username: customer.auth.display_name.clone(),
        accounts,
    })
}

#[derive(Debug, Default, Deserialize)]
struct HistoryFilter {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    cursor: Option<String>,
}

impl HistoryFilter {
    fn is_filtered(&self) -> bool {
        !self.from.is_empty() || !self.to.is_empty() || !self.q.trim().is_empty()
    }

    /// The query string for the logic tier (and for this page's own links).
    fn query(&self, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("from", &self.from), ("to", &self.to), ("q", &self.q)] {
            if !value.trim().is_empty() {
                query.append_pair(name, value.trim());
            }
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }

    fn validate(&self) -> Option<&'static str> {
        day_range(&self.from, &self.to).err()
    }
}

struct MoreLink {
    page: String,
    partial: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    account: Account,
    filter: HistoryFilter,
    filter_error: Option<&'static str>,
    entries: Vec<Entry>,
    more_link: Option<MoreLink>,
    filtered: bool,
    statement_from: String,
    statement_to: String,
    statement_error: Option<&'static str>,
    /// For the entries' rows (`entries.html`): the page shows `filter_error` above them instead.
    error: Option<&'static str>,
}

/// The statement form as the customer left it.
struct StatementForm {
    from: String,
    to: String,
    error: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "entries.html")]
struct EntriesPartial {
    entries: Vec<Entry>,
    more_link: Option<MoreLink>,
    filtered: bool,
    /// Why the filter was not applied (a date the bank cannot answer for, say).
    error: Option<&'static str>,
}

async fn load_history(
    state: &AppState,
    customer: &Customer,
    number: &AccountNumber,
    filter: &HistoryFilter,
) -> Result<(Vec<Entry>, Option<MoreLink>), PageError> {
    let query = filter.query(filter.cursor.as_deref());
    let history = state
        .logic
        .entries(customer.caller(), number, HISTORY_PAGE, &query)
        .await?;
    let more_link = history.next_cursor.as_deref().map(|cursor| {
        let query = filter.query(Some(cursor));
        MoreLink {
            page: format!("/accounts/{number}?{query}"),
            partial: format!("/accounts/{number}/entries?{query}"),
        }
    });
    Ok((history.entries, more_link))
}

async fn account(
    State(state): State<AppState>,
    customer: Customer,
    Path(number): Path<String>,
    Query(filter): Query<HistoryFilter>,
) -> Result<AccountPage, PageError> {
    let number = super::account_in_path(&number)?;
    let today = OffsetDateTime::now_utc().date();
    let month_start = today.replace_day(1).unwrap_or(today);
    let statement = StatementForm {
        from: month_start.to_string(),
        to: today.to_string(),
        error: None,
    };
    account_page(&state, &customer, &number, filter, statement).await
}

async fn account_page(
    state: &AppState,
    customer: &Customer,
    number: &AccountNumber,
    filter: HistoryFilter,
    statement: StatementForm,
) -> Result<AccountPage, PageError> {
    let account = state.logic.account(customer.caller(), number).await?;
    let filter_error = filter.validate();
    let (entries, more_link) = if filter_error.is_some() {
        (Vec::new(), None)
    } else {
        load_history(state, customer, number, &filter).await?
    };
    Ok(AccountPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "accounts",
        filtered: filter.is_filtered(),
        account,
        filter,
        filter_error,
        entries,
        more_link,
        statement_from: statement.from,
        statement_to: statement.to,
        statement_error: statement.error,
        error: None,
    })
}

/// The rows of a history page, for htmx (filters and "load more").
async fn entries(
    State(state): State<AppState>,
    customer: Customer,
    HxRequest(htmx): HxRequest,
    Path(number): Path<String>,
    Query(filter): Query<HistoryFilter>,
) -> Result<Response, PageError> {
    let number = super::account_in_path(&number)?;
    if !htmx {
        // Without JavaScript the full page shows the same rows.
        let query = filter.query(filter.cursor.as_deref());
        return Ok(
            axum::response::Redirect::to(&format!("/accounts/{number}?{query}")).into_response(),
        );
    }
    if let Some(message) = filter.validate() {
        return Ok(EntriesPartial {
            entries: Vec::new(),
            more_link: None,
            filtered: true,
            error: Some(message),
        }
        .into_response());
    }
    let (entries, more_link) = load_history(&state, &customer, &number, &filter).await?;
    Ok(EntriesPartial {
        entries,
        more_link,
        filtered: filter.is_filtered(),
        error: None,
    }
    .into_response())
}

#[derive(Deserialize)]
struct StatementQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    format: String,
}

async fn statement(
    State(state): State<AppState>,
    customer: Customer,
    Path(number): Path<String>,
    Query(query): Query<StatementQuery>,
) -> Result<Response, PageError> {
    let number = super::account_in_path(&number)?;
    let checked = match day_range(&query.from, &query.to) {
        _ if !matches!(query.format.as_str(), "" | "pdf" | "csv") => Err("Choose PDF or CSV."),
        Ok((Some(from), Some(to))) => Ok((from, to)),
        refused => Err(refused.err().unwrap_or("Enter the first and the last day.")),
    };
    let (from, to) = match checked {
        Ok(days) => days,
        Err(reason) => {
            // The account page again, the form as it was sent and the reason beside it.
            let statement = StatementForm {
                from: query.from,
                to: query.to,
                error: Some(reason),
            };
            let page = account_page(
                &state,
                &customer,
                &number,
                HistoryFilter::default(),
                statement,
            )
            .await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let statement = state
        .logic
        .statement(customer.caller(), &number, from, to)
        .await?;
    let stem = format!("statement-{}-{from}-{to}", statement.account);
    let (body, content_type, extension) = if query.format == "csv" {
        (
            crate::statement::csv(&statement).into_bytes(),
            "text/csv; charset=utf-8",
            "csv",
        )
    } else {
        let pdf = crate::statement::pdf(&statement, &state.fonts)
            .map_err(|error| PageError::Internal(format!("statement PDF: {error}")))?;
        (pdf, "application/pdf", "pdf")
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{stem}.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
