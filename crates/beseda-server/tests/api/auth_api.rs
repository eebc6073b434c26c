//! Signing in and out, sessions, API tokens, CSRF and bad input, through the public HTTP API.

use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp, browser, json_of};
use serde_json::json;

on_both_backends!(
    login_sets_an_http_only_session_cookie,
    a_wrong_login_never_says_which_part_was_wrong,
    too_many_logins_are_refused_with_retry_after,
    a_request_without_a_session_is_401,
    a_password_change_ends_every_other_session,
    an_administrator_reset_ends_the_managers_sessions,
    logout_ends_the_session,
    a_cross_site_request_with_the_cookie_is_refused,
    personal_api_tokens_authenticate_until_revoked,
    api_tokens_need_the_password_expire_end_with_a_new_one_and_are_revoked_by_an_administrator,
    malformed_and_unknown_input_is_refused_with_a_clear_error,
);

async fn login_sets_an_http_only_session_cookie(app: TestApp) {
    let r = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "Admin@Example.com ", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("beseda_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "no Secure flag over plain http: {cookie}"
    );
    let (_, body) = json_of(r).await;
    assert_eq!(body["manager"]["email"], ADMIN_EMAIL);
    assert_eq!(body["permissions"]["system_admin"], true);
    assert!(body["manager"].get("password_hash").is_none());

    let client = app.login(ADMIN_EMAIL).await;
    let (status, me) = json_of(client.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(
        (status, me["manager"]["id"].clone()),
        (200, json!(app.admin.id.0))
    );
}

async fn a_wrong_login_never_says_which_part_was_wrong(app: TestApp) {
    let wrong_password = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": "nope nope nope"}))
        .send()
        .await
        .unwrap();
    let unknown_email = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "who@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let bad_email = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "not an email", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let bodies = [
        json_of(wrong_password).await,
        json_of(unknown_email).await,
        json_of(bad_email).await,
    ];
    for (status, body) in &bodies {
        assert_eq!(*status, 401);
        assert_eq!(body["error"], "invalid_credentials");
    }
    assert_eq!(
        bodies[0].1, bodies[1].1,
        "the same answer for a wrong password and an unknown email"
    );
}

/// After a few failed sign-ins each next attempt waits (Retry-After, growing); the right
/// password after the wait gets in and clears the account's failures; successes never count.
async fn too_many_logins_are_refused_with_retry_after(app: TestApp) {
    let attempt = |password: &'static str| {
        browser()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": password}))
            .send()
    };
    let retry_after = |r: &reqwest::Response| -> u64 {
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    for _ in 0..40 {
        assert_eq!(
            attempt(PASSWORD).await.unwrap().status(),
            200,
            "successes never count"
        );
    }
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(attempt("wrong password").await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    let r = attempt(PASSWORD).await.unwrap();
    assert_eq!(r.status(), 429, "even the right password waits now");
    assert_eq!(retry_after(&r), 1);
    assert_eq!(json_of(r).await.1["error"], "rate_limited");

    // Each further failure doubles the wait.
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(attempt("wrong password").await.unwrap().status(), 401);
    let r = attempt("wrong password").await.unwrap();
    assert_eq!((r.status().as_u16(), retry_after(&r)), (429, 2));

    // Whoever guesses cannot hold the account: after the wait, the owner gets in.
    app.clock.advance(std::time::Duration::from_secs(2));
    assert_eq!(attempt(PASSWORD).await.unwrap().status(), 200);
    assert_eq!(
        attempt("wrong password").await.unwrap().status(),
        401,
        "a fresh start"
    );
}

/// Many accounts tried from one address: the address waits too, and only the address named by
/// a trusted proxy counts.
#[tokio::test]
async fn sign_ins_from_one_address_are_limited_across_accounts() {
    use beseda_core::services::auth::LoginLimits;
    let limits = LoginLimits {
        free_failures_per_address: 3,
        ..LoginLimits::default()
    };
    let options = crate::common::Options {
        limits,
        trusted_proxies: "127.0.0.1",
        ..Default::default()
    };
    let app = TestApp::spawn_with(beseda_testkit::TestBackend::Sqlite, options)
        .await
        .unwrap();
    let from = |client: &'static str, n: usize| {
        browser()
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", client)
            .json(&json!({"email": format!("guess{n}@example.com"), "password": "whatever it is"}))
            .send()
    };
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(from("203.0.113.7", n).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    assert_eq!(
        from("198.51.100.4", 9).await.unwrap().status(),
        401,
        "another client behind the same proxy is not held"
    );
}

/// Without a trusted proxy, `X-Forwarded-For` is ignored: a client cannot pick the address it
/// is limited by.
#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    use beseda_core::services::auth::LoginLimits;
    let limits = LoginLimits {
        free_failures_per_address: 2,
        ..LoginLimits::default()
    };
    let options = crate::common::Options {
        limits,
        ..Default::default()
    };
    let app = TestApp::spawn_with(beseda_testkit::TestBackend::Sqlite, options)
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for n in 0..4 {
        let r = browser()
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({"email": format!("guess{n}@example.com"), "password": "whatever it is"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
}

async fn a_request_without_a_session_is_401(app: TestApp) {
    for path in ["/api/v1/me", "/api/v1/managers", "/api/v1/me/tokens"] {
        let (status, body) = json_of(browser().get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthenticated")),
            "{path}"
        );
    }
    let forged = browser()
        .get(app.url("/api/v1/me"))
        .header("cookie", "beseda_session=bs_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let page = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(
        (
            page.status().as_u16(),
            page.headers()["location"].to_str().unwrap()
        ),
        (303, "/login")
    );
}

async fn a_password_change_ends_every_other_session(app: TestApp) {
    let laptop = app.login(ADMIN_EMAIL).await;
    let phone = app.login(ADMIN_EMAIL).await;
    let wrong = laptop
        .put(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": "not it at all", "new_password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(wrong).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("current_password"))
    );
    assert_eq!(
        phone
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "a refused change ends nothing"
    );

    let r = laptop
        .put(app.url("/api/v1/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        phone
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "the other session ended"
    );
    assert_eq!(
        laptop
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the changing browser got a new session"
    );
    let old = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
}

async fn an_administrator_reset_ends_the_managers_sessions(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let annas = app.login("anna@example.com").await;
    let admin = app.login(ADMIN_EMAIL).await;
    let r = admin
        .put(app.url(&format!("/api/v1/managers/{}/password", anna.id)))
        .json(&json!({"password": "reset by admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        annas
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A manager cannot reset the administrator.
    let annas = browser();
    annas
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "anna@example.com", "password": "reset by admin"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(
        annas
            .put(app.url(&format!("/api/v1/managers/{}/password", app.admin.id)))
            .json(&json!({"password": "taken over!"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
}

async fn logout_ends_the_session(app: TestApp) {
    let client = app.login(ADMIN_EMAIL).await;
    let cookie_before = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(cookie_before.status(), 200);
    assert_eq!(
        client
            .post(app.url("/api/v1/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

async fn a_cross_site_request_with_the_cookie_is_refused(app: TestApp) {
    let client = app.login(ADMIN_EMAIL).await;
    let body = json!({"email": "evil@example.com", "name": "Evil", "password": "evil password"});
    let r = client
        .post(app.url("/api/v1/managers"))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, err) = json_of(r).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("csrf_rejected"))
    );
    let r = client
        .post(app.url("/api/v1/managers"))
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, list) = json_of(
        client
            .get(app.url("/api/v1/managers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing was created");

    let same_origin = client
        .post(app.url("/api/v1/managers"))
        .header("origin", app.base.clone())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 201);
    let form = client
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403, "forms are protected too");
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn personal_api_tokens_authenticate_until_revoked(app: TestApp) {
    let client = app.login(ADMIN_EMAIL).await;
    let (status, created) = json_of(
        client
            .post(app.url("/api/v1/me/tokens"))
            .json(&json!({"name": "CRM sync", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_i64().unwrap();

    let api = reqwest::Client::new();
    let (status, me) = json_of(
        api.get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, me["manager"]["email"].as_str()),
        (200, Some(ADMIN_EMAIL))
    );
    let (_, listed) = json_of(
        client
            .get(app.url("/api/v1/me/tokens"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed[0]["name"], "CRM sync");
    assert!(listed[0]["last_used_at"].is_i64(), "use is recorded");
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never listed"
    );

    assert_eq!(
        api.get(app.url("/api/v1/me"))
            .bearer_auth("bt_not-a-token")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        api.get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// A personal API token is made only with the owner's password, works until its expiry, ends
/// with a new password, and an administrator can review and revoke a manager's tokens.
async fn api_tokens_need_the_password_expire_end_with_a_new_one_and_are_revoked_by_an_administrator(
    app: TestApp,
) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let as_anna = app.as_("anna@example.com").await;
    let make = |body: serde_json::Value| as_anna.post("/api/v1/me/tokens", body);
    let e = make(json!({"name": "CRM", "password": "not my password"}))
        .refused(422, "invalid_value")
        .await;
    assert_eq!(e["field"], "password");
    make(json!({"name": "CRM", "password": PASSWORD, "expires_in_days": 0}))
        .refused(422, "invalid_value")
        .await;
    assert_eq!(
        as_anna.get("/api/v1/me/tokens").expect(200).await,
        json!([])
    );

    let week = make(json!({"name": "A week", "password": PASSWORD, "expires_in_days": 7}))
        .expect(201)
        .await;
    let quarter = make(json!({"name": "Default", "password": PASSWORD}))
        .expect(201)
        .await;
    let day = 24 * 3600 * 1000;
    let lasts = |t: &serde_json::Value| {
        t["token"]["expires_at"].as_i64().unwrap() - t["token"]["created_at"].as_i64().unwrap()
    };
    assert_eq!((lasts(&week), lasts(&quarter)), (7 * day, 90 * day));
    let bearer = |t: &serde_json::Value| {
        crate::common::client::Caller::bearer_at(&app.base, t["secret"].as_str().unwrap())
    };
    bearer(&week).get("/api/v1/me").expect(200).await;

    // The week passes: that token ends, the other works on.
    app.clock
        .advance(std::time::Duration::from_secs(7 * 24 * 3600 + 1));
    bearer(&week)
        .get("/api/v1/me")
        .refused(401, "unauthenticated")
        .await;
    bearer(&quarter).get("/api/v1/me").expect(200).await;

    // An administrator sees Anna's tokens and revokes one; a plain manager may not.
    let admin = app.as_(ADMIN_EMAIL).await;
    let listed = admin
        .get(&format!("/api/v1/managers/{}/tokens", anna.id))
        .expect(200)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains("bt_"), "never a secret");
    let boris = app.manager("boris@example.com", "Boris").await;
    let as_boris = app.as_("boris@example.com").await;
    as_boris
        .get(&format!("/api/v1/managers/{}/tokens", anna.id))
        .refused(403, "forbidden")
        .await;
    as_boris
        .get(&format!("/api/v1/managers/{}/tokens", app.admin.id))
        .refused(403, "forbidden")
        .await;
    let _ = boris;
    let revoke = format!(
        "/api/v1/managers/{}/tokens/{}",
        anna.id, quarter["token"]["id"]
    );
    admin.delete(&revoke).expect(204).await;
    admin.delete(&revoke).refused(404, "not_found").await;
    bearer(&quarter)
        .get("/api/v1/me")
        .refused(401, "unauthenticated")
        .await;

    // A new password ends every token.
    let fresh = make(json!({"name": "Fresh", "password": PASSWORD}))
        .expect(201)
        .await;
    bearer(&fresh).get("/api/v1/me").expect(200).await;
    as_anna
        .put(
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "a brand new password"}),
        )
        .expect(204)
        .await;
    bearer(&fresh)
        .get("/api/v1/me")
        .refused(401, "unauthenticated")
        .await;
}

async fn malformed_and_unknown_input_is_refused_with_a_clear_error(app: TestApp) {
    let client = app.login(ADMIN_EMAIL).await;
    let url = app.url("/api/v1/managers");
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"email\": \"x@example.com\",\n \"name\": }")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_json"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );

    let unknown =
        json!({"email": "x@example.com", "name": "X", "password": "long enough", "role": "god"});
    let (status, body) = json_of(client.post(&url).json(&unknown).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str(), body["field"].as_str()),
        (422, Some("invalid_value"), Some("role"))
    );

    let short = json!({"email": "x@example.com", "name": "X", "password": "short"});
    let (status, body) = json_of(client.post(&url).json(&short).send().await.unwrap()).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("password")));

    let status_out_of_range = json!({"online": true, "status": "asleep"});
    let (status, body) = json_of(
        client
            .put(app.url("/api/v1/me/availability"))
            .json(&status_out_of_range)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("status")));

    let (_, list) = json_of(client.get(&url).send().await.unwrap()).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "no refused request created anything"
    );
}
