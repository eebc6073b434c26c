//! The typed test client: who calls, then what, then what must come back:
//! `app.as_(ADMIN_EMAIL).await.post("/api/v1/tags", body).expect(201).await`.

use super::{PASSWORD, TestApp, browser, json_of};
use reqwest::Method;
use serde_json::{Value, json};
use std::future::{Future, IntoFuture};
use std::pin::Pin;

/// Someone calling the API: a signed-in manager (their session cookie), a manager's personal
/// API token, a module (its token), or nobody.
#[derive(Clone)]
pub struct Caller {
    base: String,
    http: reqwest::Client,
    /// The header a token travels in, and its value.
    token: Option<(&'static str, String)>,
}

impl TestApp {
    /// The API as the manager `email`, signed in with the test password.
    pub async fn as_(&self, email: &str) -> Caller {
        Caller::manager_at(&self.base, email).await
    }

    /// The transport API as the module holding `token`.
    pub fn as_module(&self, token: &str) -> Caller {
        Caller::module_at(&self.base, token)
    }

    /// The API without a session.
    pub fn anonymous(&self) -> Caller {
        Caller::anonymous_at(&self.base)
    }
}

impl Caller {
    /// Nobody, calling the server at `base` (`http://host:port`).
    pub fn anonymous_at(base: &str) -> Caller {
        Caller {
            base: base.to_owned(),
            http: browser(),
            token: None,
        }
    }

    /// The manager `email`, signed in with the test password at `base`.
    pub async fn manager_at(base: &str, email: &str) -> Caller {
        let caller = Caller::anonymous_at(base);
        let answer = caller
            .post(
                "/api/v1/auth/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(answer.0, 200, "login as {email}: {}", answer.1);
        caller
    }

    /// The module holding `token`, at `base`.
    pub fn module_at(base: &str, token: &str) -> Caller {
        Caller {
            token: Some(("x-transport-token", token.to_owned())),
            ..Caller::anonymous_at(base)
        }
    }

    /// A bot holding `token` (`X-Bot-Token`), at `base`.
    pub fn bot_at(base: &str, token: &str) -> Caller {
        Caller {
            token: Some(("x-bot-token", token.to_owned())),
            ..Caller::anonymous_at(base)
        }
    }

    /// A personal API token's holder (`Authorization: Bearer`), at `base`.
    pub fn bearer_at(base: &str, token: &str) -> Caller {
        Caller {
            token: Some(("authorization", format!("Bearer {token}"))),
            ..Caller::anonymous_at(base)
        }
    }

    /// As an administrator: connects a module whose webhook is `webhook_url` and registers a
    /// Telegram channel of it.
    pub async fn connect_module(&self, webhook_url: &str) -> ConnectedModule {
        let m = self
            .post(
                "/api/v1/transport-modules",
                json!({"name": "Module", "webhook_url": webhook_url}),
            )
            .expect(201)
            .await;
        let token = m["token"].as_str().unwrap().to_owned();
        let module = Caller::module_at(&self.base, &token);
        let channel = module
            .post(
                "/api/transport/v1/channels",
                json!({"type": "telegram", "name": "Bot"}),
            )
            .expect(201)
            .await["id"]
            .as_i64()
            .unwrap();
        ConnectedModule {
            module,
            token,
            channel,
            id: m["module"]["id"].as_i64().unwrap(),
            webhook_secret: m["webhook_secret"].as_str().unwrap().to_owned(),
        }
    }

    /// The ids of every row of the dialog list for `query` (`&name=value…`), through all its
    /// pages of four.
    pub async fn dialog_ids(&self, query: &str) -> Vec<i64> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("/api/v1/dialogs?limit=4{query}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page = self.get(&url).expect(200).await;
            out.extend(
                page["dialogs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["id"].as_i64().unwrap()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.request(Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> Call {
        self.request(Method::POST, path, Some(body))
    }

    /// A POST without a body: an action (`…/close`, `…/read`).
    pub fn post_empty(&self, path: &str) -> Call {
        self.request(Method::POST, path, None)
    }

    pub fn put(&self, path: &str, body: Value) -> Call {
        self.request(Method::PUT, path, Some(body))
    }

    pub fn patch(&self, path: &str, body: Value) -> Call {
        self.request(Method::PATCH, path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Call {
        self.request(Method::DELETE, path, None)
    }

    /// Files as `multipart/form-data`.
    pub fn upload(&self, path: &str, form: reqwest::multipart::Form) -> Call {
        Call(self.raw(Method::POST, path).multipart(form))
    }

    pub fn request(&self, method: Method, path: &str, body: Option<Value>) -> Call {
        let req = self.raw(method, path);
        Call(match body {
            Some(body) => req.json(&body),
            None => req,
        })
    }

    /// The request as this caller sends it, for what the typed calls do not cover: a
    /// download's bytes and headers, a body that never ends.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some((header, value)) => req.header(*header, value),
            None => req,
        }
    }
}

impl Caller {
    /// A dialog's feed as the caller sees it, oldest first.
    pub async fn feed(&self, dialog: i64) -> Vec<Value> {
        self.get(&format!("/api/v1/dialogs/{dialog}/messages"))
            .expect(200)
            .await
            .as_array()
            .expect("a feed")
            .clone()
    }

    /// Writes `message` (the body of `POST …/messages`) in a dialog and waits until it is
    /// `status`; the message then.
    pub async fn reply_until(&self, dialog: i64, message: Value, status: &str) -> Value {
        let sent = self
            .post(&format!("/api/v1/dialogs/{dialog}/messages"), message)
            .expect(201)
            .await;
        self.wait_status(dialog, &sent["id"], status).await
    }

    /// Uploads a file into a dialog for the caller's next reply; its id.
    pub async fn attach(&self, dialog: i64, name: &'static str, bytes: Vec<u8>) -> Value {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        self.upload(&format!("/api/v1/dialogs/{dialog}/attachments"), form)
            .expect(201)
            .await[0]["id"]
            .clone()
    }

    /// The client card of a dialog's client.
    pub async fn client_card_of(&self, dialog: i64) -> Value {
        let d = self
            .get(&format!("/api/v1/dialogs/{dialog}"))
            .expect(200)
            .await;
        self.get(&format!("/api/v1/clients/{}", d["client"]["id"]))
            .expect(200)
            .await
    }

    /// Waits until message `id` of the dialog has `status`; the message.
    pub async fn wait_status(&self, dialog: i64, id: &Value, status: &str) -> Value {
        self.wait_feed(dialog, |m| &m["id"] == id && m["status"] == status)
            .await
    }

    /// Waits (up to ten seconds) until the dialog's feed has a message for which `found` holds.
    pub async fn wait_feed(&self, dialog: i64, found: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            if let Some(m) = self.feed(dialog).await.into_iter().find(&found) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("never found in the feed: {:?}", self.feed(dialog).await);
    }
}

/// A module connected by [`Caller::connect_module`], with its channel.
pub struct ConnectedModule {
    /// The module, calling with its token.
    pub module: Caller,
    pub token: String,
    pub channel: i64,
    pub id: i64,
    pub webhook_secret: String,
}

/// One request, not yet sent. Awaiting it gives the status and the JSON answer.
pub struct Call(reqwest::RequestBuilder);

impl Call {
    /// The answer must have this status; gives its JSON.
    pub async fn expect(self, status: u16) -> Value {
        let (got, body) = self.await;
        assert_eq!(got, status, "{body}");
        body
    }

    /// The request must be refused with this status and stable error code; gives the answer.
    pub async fn refused(self, status: u16, code: &str) -> Value {
        let (got, body) = self.await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        body
    }
}

impl IntoFuture for Call {
    type Output = (u16, Value);
    type IntoFuture = Pin<Box<dyn Future<Output = (u16, Value)> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { json_of(self.0.send().await.expect("the server answers")).await })
    }
}
