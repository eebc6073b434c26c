//! The pages: login and the inbox shell, from auto-escaping templates, in the manager's
//! language. Forms post back here; every state change passes the CSRF check of the router.

use super::auth::{ClientOrigin, PageActor, removal_cookie, session_cookie};
use super::error::status_of;
use super::json::ApiPath;
use crate::app::AppState;
use crate::i18n::{Tr, negotiate};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use beseda_core::CoreError;
use beseda_core::manager::Manager;
use beseda_core::values::{Locale, ManagerStatus};
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    email: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
pub struct InboxPage {
    tr: Tr,
    rows: Vec<super::ui::Row>,
    next: Option<String>,
    query: String,
    unread: i64,
    manager: Manager,
    role: String,
    statuses: Vec<(&'static str, String, bool)>,
    locales: Vec<(&'static str, String, bool)>,
    /// The "Filters and sorting" panel (F20–F24) and the managers it offers.
    panel: beseda_core::inbox::FilterPanel,
    managers: Vec<(i64, String)>,
    /// F19: the "Actions" → delete menu is shown only with the permission.
    can_delete: bool,
    /// F34: the settings link is shown only with the permission.
    can_settings: bool,
    /// `serve --demo`: where the demo shop with the website widget is.
    demo_shop: Option<String>,
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn browser_locale(headers: &HeaderMap, asked: Option<&str>) -> Locale {
    let asked = asked.and_then(|l| Locale::parse(l).ok());
    negotiate(
        asked,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// GET /login: the sign-in form, in the browser's language or the one picked (`?lang=`).
pub async fn login_page(headers: HeaderMap, Query(q): Query<LangQuery>) -> impl IntoResponse {
    LoginPage {
        tr: Tr(browser_locale(&headers, q.lang.as_deref())),
        email: String::new(),
        error: None,
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    lang: Option<String>,
}

/// POST /login: signs in from the form; on failure shows the form again with the reason.
pub async fn login_submit(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    match state.auth.login(&form.email, &form.password, origin).await {
        Ok((token, _)) => (
            jar.add(session_cookie(&token, state.secure_cookies)),
            Redirect::to("/"),
        )
            .into_response(),
        Err(e) => {
            let tr = Tr(browser_locale(&headers, form.lang.as_deref()));
            let error = match &e {
                CoreError::RateLimited { retry_after } => tr.t1(
                    "login-rate-limited",
                    "seconds",
                    &retry_after.as_secs().max(1).to_string(),
                ),
                CoreError::InvalidCredentials => tr.t("login-failed"),
                _ => return super::error::ApiError::from(e).into_response(),
            };
            (
                status_of(&e),
                LoginPage {
                    tr,
                    email: form.email,
                    error: Some(error),
                },
            )
                .into_response()
        }
    }
}

/// POST /logout: ends the session and returns to the login page.
pub async fn logout(
    State(state): State<AppState>,
    page: Result<PageActor, Response>,
    jar: CookieJar,
) -> Response {
    if let Ok(page) = page
        && let Err(e) = state.auth.logout(&page.session).await
    {
        return super::error::ApiError::from(e).into_response();
    }
    (jar.add(removal_cookie()), Redirect::to("/login")).into_response()
}

/// GET /: the workspace: the header with its counter, the first page of the dialog list; the
/// script keeps them live and opens conversations.
pub async fn inbox(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
) -> super::error::ApiResult<InboxPage> {
    let list = state
        .inbox
        .list(
            &page.actor,
            beseda_core::inbox::DialogFilter::default(),
            beseda_core::inbox::DialogSort::Activity,
            None,
            50,
        )
        .await?;
    let unread = state.dialogs.counters(&page.actor).await?.unread_dialogs;
    let panel = state.inbox.panel(&page.actor, false, None).await?;
    let managers = state
        .managers
        .list(&page.actor)
        .await?
        .into_iter()
        .filter(|m| !m.disabled)
        .map(|m| (m.id.0, m.name))
        .collect();
    let m = page.actor.manager;
    let p = page.actor.permissions;
    let tr = Tr(negotiate(
        m.locale,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    ));
    let role = tr.t(if p.system_admin {
        "role-system-admin"
    } else if p.chats_admin {
        "role-chats-admin"
    } else {
        "role-manager"
    });
    let statuses = [
        ManagerStatus::Free,
        ManagerStatus::Busy,
        ManagerStatus::Lunch,
        ManagerStatus::Break,
    ]
    .into_iter()
    .map(|s| {
        (
            s.as_str(),
            tr.t(&format!("status-{}", s.as_str())),
            s == m.status,
        )
    })
    .collect();
    let mut locales = vec![("", tr.t("language-auto"), m.locale.is_none())];
    locales.extend(Locale::ALL.into_iter().map(|l| {
        (
            l.as_str(),
            tr.t(&format!("language-{}", l.as_str())),
            m.locale == Some(l),
        )
    }));
    Ok(InboxPage {
        demo_shop: state.demo_shop.clone(),
        tr,
        rows: list.dialogs.iter().map(super::ui::Row::of).collect(),
        next: list.next,
        query: String::new(),
        unread,
        manager: m,
        role,
        statuses,
        locales,
        panel,
        managers,
        can_delete: p.delete_dialogs,
        can_settings: p.manage_settings,
    })
}

#[derive(Deserialize)]
pub struct AvailabilityForm {
    online: Option<String>,
    status: String,
}

/// POST /me/availability: the header's availability form.
pub async fn availability_submit(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<AvailabilityForm>,
) -> Response {
    let result = match ManagerStatus::parse(&form.status) {
        Ok(status) => {
            state
                .managers
                .set_availability(&page.actor, form.online.is_some(), status)
                .await
        }
        Err(e) => Err(e),
    };
    back_home(result.map(|_| ()))
}

#[derive(Deserialize)]
pub struct LocaleForm {
    locale: String,
}

/// POST /me/locale: the header's language form; empty means "follow the browser".
pub async fn locale_submit(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<LocaleForm>,
) -> Response {
    let result = match form.locale.as_str() {
        "" => Ok(None),
        l => Locale::parse(l).map(Some),
    };
    let result = match result {
        Ok(locale) => state
            .managers
            .set_locale(&page.actor, locale)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    back_home(result)
}

fn back_home(result: Result<(), CoreError>) -> Response {
    match result {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => super::error::ApiError::from(e).into_response(),
    }
}

/// GET /assets/{*path}: the stylesheet and scripts, compiled into the binary.
pub async fn asset(ApiPath(path): ApiPath<String>) -> Response {
    match crate::assets::Assets::get(&path) {
        Some(file) => {
            let mime = if path.ends_with(".css") {
                "text/css; charset=utf-8"
            } else if path.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                file.data,
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
