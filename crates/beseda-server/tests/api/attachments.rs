//! Files in messages (F11, F25–F27, F38): uploads checked by content and by each channel's
//! limits, previews, downloads only for who sees the dialog, sending again, and files both ways
//! through the transport API, on both stores.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp, json_of};
use beseda_testkit::fake_module::FakeModule;
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    f25_f27_a_manager_sends_images_and_a_file_in_one_message,
    f27_downloads_are_safe_and_images_have_previews,
    f11_the_files_panel_lists_images_and_files_apart,
    f25_unsent_uploads_are_swept_and_sent_files_stay,
    f26_limits_per_channel_type_and_kind_before_the_body_is_read,
    f25_too_many_files_are_refused_and_nothing_is_kept,
    f11_downloads_are_refused_to_a_manager_who_lost_the_dialog,
    f11_a_file_in_the_chat_is_sent_again,
    f38_a_clients_files_come_in_uploaded_or_by_url,
    f38_a_managers_file_goes_out_in_the_webhook,
    stored_files_no_attachment_names_are_reconciled_away,
);

const MB: usize = 1024 * 1024;

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([20, 120, 200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn pdf(size: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    v.resize(size, b' ');
    v
}

fn form(files: Vec<(&str, Vec<u8>)>) -> Form {
    files.into_iter().fold(Form::new(), |f, (name, bytes)| {
        f.part("file", Part::bytes(bytes).file_name(name.to_owned()))
    })
}

async fn upload(
    client: &Caller,
    path: impl AsRef<str>,
    files: Vec<(&str, Vec<u8>)>,
) -> (u16, Value) {
    client.upload(path.as_ref(), form(files)).await
}

/// How many objects the storage directory holds.
fn stored_objects(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { count(&p) } else { 1 }
                })
                .sum()
        })
    }
    count(&app.files_dir())
}

fn ids(files: &Value) -> Vec<i64> {
    files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

/// A manager's message of two images and a PDF in a Telegram dialog.
struct Sent {
    admin: Caller,
    dialog: i64,
    files: Value,
    big: Vec<u8>,
    report: Vec<u8>,
}

async fn sent_files(app: &TestApp) -> Sent {
    let ch = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(ch, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (big, report) = (png(800, 600), pdf(2000));
    let files = admin
        .upload(
            &format!("/api/v1/dialogs/{dialog}/attachments"),
            form(vec![
                ("photo.png", big.clone()),
                ("../../evil.png", png(10, 10)),
                ("report.jpg", report.clone()),
            ]),
        )
        .expect(201)
        .await;
    admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "", "attachment_ids": ids(&files)}),
        )
        .expect(201)
        .await;
    Sent {
        admin,
        dialog,
        files,
        big,
        report,
    }
}

/// F25, F27: files are classified by their content, not their name (a PDF named .jpg is a file),
/// names are cleaned, images get their size and a preview; one message takes them all, the row
/// names its first file, and the same uploads cannot go out twice.
async fn f25_f27_a_manager_sends_images_and_a_file_in_one_message(app: TestApp) {
    let ch = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(ch, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let big = png(800, 600);
    let report = pdf(2000);
    let (status, files) = upload(
        &admin,
        format!("/api/v1/dialogs/{dialog}/attachments"),
        vec![
            ("photo.png", big.clone()),
            ("../../evil.png", png(10, 10)),
            // The name says image; the content says file.
            ("report.jpg", report.clone()),
        ],
    )
    .await;
    assert_eq!(status, 201, "{files}");
    let kinds: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "image", "file"]);
    assert_eq!(files[0]["width"], 800);
    assert_eq!(files[0]["height"], 600);
    assert_eq!(files[0]["preview"], true);
    assert_eq!(files[1]["file_name"], "evil.png");
    assert_eq!(files[2]["mime"], "application/pdf");
    assert_eq!(files[2]["preview"], false);
    assert_eq!(files[2]["size_bytes"], 2000);

    let (status, m) = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "", "attachment_ids": ids(&files)}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["kind"], "image");
    assert_eq!(ids(&m["attachments"]), ids(&files));
    let (_, row) = admin.get(&format!("/api/v1/dialogs/{dialog}")).await;
    assert_eq!(row["last_message_preview"], "📎 photo.png (+2)");
    let (_, feed) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/messages"))
        .await;
    let last = feed.as_array().unwrap().last().unwrap();
    assert_eq!(ids(&last["attachments"]), ids(&files));

    // The same uploads cannot go out twice.
    let (status, e) = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "again", "attachment_ids": [files[0]["id"]]}),
        )
        .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("invalid_attachment"))
    );
}

/// F27: a file downloads as itself (never sniffed, saved rather than shown unless it is media),
/// an image's preview is a small JPEG, and a file has no preview.
async fn f27_downloads_are_safe_and_images_have_previews(app: TestApp) {
    let Sent {
        admin,
        dialog: _,
        files,
        big,
        report,
    } = sent_files(&app).await;
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}", files[0]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), big.as_slice());
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}", files[2]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), report.as_slice());
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}/preview", files[0]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jpeg = r.bytes().await.unwrap();
    let thumb = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}/preview", files[2]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a file has no preview");
}

/// F11: the files panel lists a dialog's images and other files on their own tabs, newest first.
async fn f11_the_files_panel_lists_images_and_files_apart(app: TestApp) {
    let Sent {
        admin,
        dialog,
        files,
        big: _,
        report: _,
    } = sent_files(&app).await;
    let (_, images) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/attachments?tab=images"))
        .await;
    assert_eq!(
        ids(&images),
        vec![
            files[1]["id"].as_i64().unwrap(),
            files[0]["id"].as_i64().unwrap()
        ]
    );
    let (_, others) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/attachments?tab=files"))
        .await;
    assert_eq!(ids(&others), vec![files[2]["id"].as_i64().unwrap()]);
    let (_, older) = admin
        .get(&format!(
            "/api/v1/dialogs/{dialog}/attachments?tab=images&before={}",
            files[1]["id"]
        ))
        .await;
    assert_eq!(ids(&older), vec![files[0]["id"].as_i64().unwrap()]);
}

/// F25: an upload no message takes is swept by housekeeping; sent files stay.
async fn f25_unsent_uploads_are_swept_and_sent_files_stay(app: TestApp) {
    let Sent {
        admin,
        dialog,
        files,
        big: _,
        report: _,
    } = sent_files(&app).await;
    let objects = stored_objects(&app);
    let (_, unsent) = upload(
        &admin,
        format!("/api/v1/dialogs/{dialog}/attachments"),
        vec![("x.png", png(4, 4))],
    )
    .await;
    assert_eq!(
        stored_objects(&app),
        objects + 2,
        "the file and its preview"
    );
    beseda_server::jobs::housekeeping_once(&app.state, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(stored_objects(&app), objects);
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}", unsent[0]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}", files[0]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A multipart body whose file starts with `head`, goes on with zeros for `size` bytes in all,
/// and then never ends: only a server that stops at the limit can answer.
fn endless_form(head: &'static [u8], size: usize) -> Form {
    let chunks = (size - head.len()).div_ceil(MB);
    let body = futures_util::stream::iter(
        std::iter::once(Ok::<_, std::io::Error>(Bytes::from_static(head)))
            .chain((0..chunks).map(|_| Ok(Bytes::from(vec![0u8; MB])))),
    )
    .chain(futures_util::stream::pending());
    Form::new().part(
        "file",
        Part::stream(reqwest::Body::wrap_stream(body)).file_name("big.png"),
    )
}

async fn f26_limits_per_channel_type_and_kind_before_the_body_is_read(app: TestApp) {
    let tg = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(tg, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let url = format!("/api/v1/dialogs/{dialog}/attachments");
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        admin
            .raw(Method::POST, &url)
            .multipart(endless_form(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 11 * MB))
            .send(),
    )
    .await
    .expect("answered before the body ended")
    .unwrap();
    let (status, e) = json_of(r).await;
    assert_eq!(status, 413, "{e}");
    assert_eq!(e["error"], "attachment_too_large");
    assert_eq!(e["details"]["kind"], "image");
    assert_eq!(e["details"]["limit_bytes"], 10 * MB);
    assert_eq!(stored_objects(&app), 0, "nothing of it is kept");

    // The same size as a document is within Telegram's 50 MB for files.
    let (status, files) = upload(&admin, url.clone(), vec![("scan.png", pdf(11 * MB))]).await;
    assert_eq!(
        (status, files[0]["kind"].as_str()),
        (201, Some("file")),
        "{files}"
    );

    // VK takes images up to 50 MB but audio only up to 8 MB.
    let vk = app.channel(beseda_core::channel::ChannelKind::Vk).await;
    let vk_dialog = app.new_dialog(vk, "c2").await;
    let vk_url = format!("/api/v1/dialogs/{vk_dialog}/attachments");
    let mut big_png = png(8, 8);
    big_png.resize(11 * MB, 0);
    let (status, files) = upload(&admin, vk_url.clone(), vec![("big.png", big_png)]).await;
    assert_eq!(status, 201, "{files}");
    let mut mp3 = b"ID3\x03\0\0\0\0\0\0".to_vec();
    mp3.resize(9 * MB, 0);
    let (status, e) = upload(&admin, vk_url, vec![("voice.mp3", mp3)]).await;
    assert_eq!(
        (status, e["details"]["kind"].as_str()),
        (413, Some("audio")),
        "{e}"
    );
    assert_eq!(e["details"]["limit_bytes"], 8 * MB);

    let (status, e) = upload(&admin, url, vec![("empty.txt", Vec::new())]).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("file")), "{e}");
}

async fn f25_too_many_files_are_refused_and_nothing_is_kept(app: TestApp) {
    let ch = app.channel(beseda_core::channel::ChannelKind::Widget).await;
    let dialog = app.new_dialog(ch, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let url = format!("/api/v1/dialogs/{dialog}/attachments");
    let eleven = (0..11).map(|_| ("p.png", png(2, 2))).collect();
    let (status, e) = upload(&admin, url.clone(), eleven).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("too_many_attachments")),
        "{e}"
    );
    let (status, e) = upload(
        &admin,
        url.clone(),
        vec![("a.pdf", pdf(100)), ("b.pdf", pdf(100))],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("too_many_attachments")),
        "{e}"
    );
    assert_eq!(stored_objects(&app), 0, "a refused request keeps nothing");

    // Across uploads the message itself is checked: ten images and a file are fine, two files not.
    let ten: Vec<_> = (0..10).map(|_| ("p.png", png(2, 2))).collect();
    let (_, images) = upload(&admin, url.clone(), ten).await;
    let (_, a) = upload(&admin, url.clone(), vec![("a.pdf", pdf(100))]).await;
    let (_, b) = upload(&admin, url.clone(), vec![("b.pdf", pdf(100))]).await;
    let path = format!("/api/v1/dialogs/{dialog}/messages");
    let (status, e) = admin
        .post(&path, json!({"attachment_ids": [a[0]["id"], b[0]["id"]]}))
        .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("too_many_attachments"))
    );
    let mut all = ids(&images);
    all.push(a[0]["id"].as_i64().unwrap());
    let (status, m) = admin
        .post(&path, json!({"body": "вот", "attachment_ids": all}))
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["attachments"].as_array().unwrap().len(), 11);
    assert_eq!(m["kind"], "text");
}

async fn f11_downloads_are_refused_to_a_manager_who_lost_the_dialog(app: TestApp) {
    let ch = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(ch, "c1").await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let a = app.as_("anna@example.com").await;
    let b = app.as_("boris@example.com").await;
    let (_, files) = upload(
        &a,
        format!("/api/v1/dialogs/{dialog}/attachments"),
        vec![("p.png", png(50, 50))],
    )
    .await;
    let id = files[0]["id"].clone();
    // An unsent upload is its uploader's alone.
    let r = b
        .raw(Method::GET, &format!("/api/v1/attachments/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (status, _) = a
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"attachment_ids": [id]}),
        )
        .await;
    assert_eq!(status, 201, "anna answers and takes the dialog");
    for path in [
        format!("/api/v1/attachments/{id}"),
        format!("/api/v1/attachments/{id}/preview"),
    ] {
        assert_eq!(
            a.raw(Method::GET, &path).send().await.unwrap().status(),
            200
        );
        assert_eq!(
            b.raw(Method::GET, &path).send().await.unwrap().status(),
            404,
            "boris does not see anna's dialog"
        );
    }
    let admin = app.as_(ADMIN_EMAIL).await;
    let (status, _) = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/assign"),
            json!({"to": {"type": "manager", "id": boris.id}}),
        )
        .await;
    assert_eq!(status, 204);
    let _ = anna;
    for path in [
        format!("/api/v1/attachments/{id}"),
        format!("/api/v1/attachments/{id}/preview"),
        format!("/api/v1/dialogs/{dialog}/attachments?tab=images"),
    ] {
        assert_eq!(
            a.raw(Method::GET, &path).send().await.unwrap().status(),
            404,
            "anna lost {path}"
        );
        assert_eq!(
            b.raw(Method::GET, &path).send().await.unwrap().status(),
            200,
            "boris got {path}"
        );
    }
}

async fn f11_a_file_in_the_chat_is_sent_again(app: TestApp) {
    let ch = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(ch, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let bytes = png(30, 20);
    let (_, files) = upload(
        &admin,
        format!("/api/v1/dialogs/{dialog}/attachments"),
        vec![("p.png", bytes.clone())],
    )
    .await;
    let first = files[0]["id"].as_i64().unwrap();
    let copy = format!("/api/v1/dialogs/{dialog}/attachments/{first}/copy");
    let (status, e) = admin.post_empty(&copy).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("attachment_unsent"))
    );
    admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"attachment_ids": [first]}),
        )
        .await;
    let (status, again) = admin.post_empty(&copy).await;
    assert_eq!(status, 201, "{again}");
    assert_ne!(again["id"], first);
    assert_eq!(
        (again["file_name"].as_str(), again["preview"].as_bool()),
        (Some("p.png"), Some(true))
    );
    let (status, m) = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Ещё раз", "attachment_ids": [again["id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let r = admin
        .raw(Method::GET, &format!("/api/v1/attachments/{}", again["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let (_, images) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/attachments?tab=images"))
        .await;
    assert_eq!(images.as_array().unwrap().len(), 2);
}

/// A file server standing in for a messenger's CDN.
async fn cdn(bytes: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        "/files/{name}",
        axum::routing::get(move || {
            let b = bytes.clone();
            async move { b }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// F38: a module brings a client's files uploaded first or by URL (fetched within the channel's
/// limits); a repeated push makes nothing twice; another channel's upload or a bad URL is refused.
async fn f38_a_clients_files_come_in_uploaded_or_by_url(app: TestApp) {
    let fake = FakeModule::start().await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, m) = admin
        .post(
            "/api/v1/transport-modules",
            json!({"name": "Fake", "webhook_url": fake.webhook_url}),
        )
        .await;
    fake.set_secret(m["webhook_secret"].as_str().unwrap());
    let token = m["token"].as_str().unwrap().to_owned();
    let (_, ch) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "telegram", "name": "Bot"}),
        )
        .await;
    let channel = ch["id"].as_i64().unwrap();
    let upload_url = format!("/api/transport/v1/channels/{channel}/attachments");
    let (status, _) = app
        .anonymous()
        .upload(&upload_url, form(vec![("a.png", png(4, 4))]))
        .await;
    assert_eq!(status, 401, "no token");
    let photo = png(64, 48);
    let (status, up) = app
        .as_module(&token)
        .upload(&upload_url, form(vec![("photo.png", photo.clone())]))
        .await;
    assert_eq!(status, 201, "{up}");
    let cdn = cdn(pdf(3000)).await;
    let push = json!({
        "channel_id": channel, "customer": {"external_id": "u1", "first_name": "Мария"},
        "external_id": "in-1", "text": "Смотрите",
        "attachments": [{"id": up[0]["id"]}, {"url": format!("{cdn}/files/invoice.pdf")}],
    });
    let (status, first) = app
        .as_module(&token)
        .post("/api/transport/v1/messages", push.clone())
        .await;
    assert_eq!(status, 200, "{first}");
    let dialog = first["dialog_id"].as_i64().unwrap();
    let (status, again) = app
        .as_module(&token)
        .post("/api/transport/v1/messages", push)
        .await;
    assert_eq!(
        (status, again["duplicate"].as_bool()),
        (200, Some(true)),
        "{again}"
    );
    assert_eq!(again["message_id"], first["message_id"]);
    let (_, feed) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/messages"))
        .await;
    let msgs = feed.as_array().unwrap();
    assert_eq!(
        msgs.iter()
            .filter(|m| m["author"]["type"] == "client")
            .count(),
        1
    );
    let got = &msgs.last().unwrap()["attachments"];
    assert_eq!(got[0]["kind"], "image");
    assert_eq!(
        (got[1]["kind"].as_str(), got[1]["file_name"].as_str()),
        (Some("file"), Some("invoice.pdf"))
    );
    let r = admin
        .raw(
            Method::GET,
            &format!("/api/v1/attachments/{}", got[0]["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());

    // A push that names another channel's upload, or a bad URL, changes nothing.
    let (status, e) = app.as_module(&token).post("/api/transport/v1/messages", json!({"channel_id": channel, "customer": {"external_id": "u2"}, "external_id": "in-2", "text": "x",
            "attachments": [{"id": got[0]["id"]}]})).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (422, Some("invalid_attachment")),
        "{e}"
    );
    let (status, e) = app.as_module(&token).post("/api/transport/v1/messages", json!({"channel_id": channel, "customer": {"external_id": "u2"}, "external_id": "in-3", "text": "x",
            "attachments": [{"url": format!("{cdn}/missing")}, {"url": "ftp://x"}]})).await;
    assert_eq!(status, 422, "{e}");
}

/// F38: a manager's file goes out in the webhook with a URL the module fetches with its own
/// token only.
async fn f38_a_managers_file_goes_out_in_the_webhook(app: TestApp) {
    let fake = FakeModule::start().await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, m) = admin
        .post(
            "/api/v1/transport-modules",
            json!({"name": "Fake", "webhook_url": fake.webhook_url}),
        )
        .await;
    fake.set_secret(m["webhook_secret"].as_str().unwrap());
    let token = m["token"].as_str().unwrap().to_owned();
    let t = reqwest::Client::new();
    let (_, ch) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "telegram", "name": "Bot"}),
        )
        .await;
    let channel = ch["id"].as_i64().unwrap();
    let pushed = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            json!({"channel_id": channel, "customer": {"external_id": "u1"}, "external_id": "in-1", "text": "Пришлите прайс"}),
        )
        .expect(200)
        .await;
    let dialog = pushed["dialog_id"].as_i64().unwrap();
    let (_, mine) = upload(
        &admin,
        format!("/api/v1/dialogs/{dialog}/attachments"),
        vec![("price.pdf", pdf(1234))],
    )
    .await;
    let (status, _) = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Прайс", "attachment_ids": ids(&mine)}),
        )
        .await;
    assert_eq!(status, 201);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let sent = loop {
        if let Some(p) = fake.payloads().into_iter().find(|p| p["text"] == "Прайс") {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "no webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let file = &sent["attachments"][0];
    assert_eq!(
        (file["file_name"].as_str(), file["size_bytes"].as_u64()),
        (Some("price.pdf"), Some(1234))
    );
    let url = file["url"].as_str().unwrap();
    assert!(
        url.starts_with(&app.url("/api/transport/v1/attachments/")),
        "{url}"
    );
    let r = t
        .get(url)
        .header("x-transport-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 1234);
    assert_eq!(t.get(url).send().await.unwrap().status(), 401);
    let (_, other) = admin
        .post(
            "/api/v1/transport-modules",
            json!({"name": "Other", "webhook_url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let r = t
        .get(url)
        .header("x-transport-token", other["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another module's channel");
}

/// Files not yet sent have a quota per uploader (here 100 KB): an upload over it is refused and
/// kept nowhere; once a message takes the waiting files, there is room again.
async fn unsent_uploads_have_a_quota_per_uploader(backend: beseda_testkit::TestBackend) {
    let options = crate::common::Options {
        unsent_quota: 100_000,
        ..Default::default()
    };
    let Some(app) = TestApp::spawn_with(backend, options).await else {
        return;
    };
    let ch = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(ch, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let path = format!("/api/v1/dialogs/{dialog}/attachments");
    let first = admin
        .upload(&path, form(vec![("a.pdf", pdf(60_000))]))
        .expect(201)
        .await;
    let objects = stored_objects(&app);
    let e = admin
        .upload(&path, form(vec![("b.pdf", pdf(60_000))]))
        .refused(422, "upload_quota_exceeded")
        .await;
    assert!(e["message"].as_str().unwrap().contains("MiB"), "{e}");
    assert_eq!(
        stored_objects(&app),
        objects,
        "the refused file is kept nowhere"
    );

    admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "", "attachment_ids": ids(&first)}),
        )
        .expect(201)
        .await;
    admin
        .upload(&path, form(vec![("b.pdf", pdf(60_000))]))
        .expect(201)
        .await;
}

#[tokio::test]
async fn unsent_uploads_have_a_quota_per_uploader_sqlite() {
    unsent_uploads_have_a_quota_per_uploader(beseda_testkit::TestBackend::Sqlite).await;
}

#[tokio::test]
async fn unsent_uploads_have_a_quota_per_uploader_postgres() {
    unsent_uploads_have_a_quota_per_uploader(beseda_testkit::TestBackend::Postgres).await;
}

/// Files are refused with a clear error while the attachments' disk is short of space (here:
/// whatever it has is too little), and nothing is kept.
#[tokio::test]
async fn files_are_refused_when_the_disk_is_nearly_full() {
    let options = crate::common::Options {
        min_free_disk: u64::MAX,
        ..Default::default()
    };
    let app = TestApp::spawn_with(beseda_testkit::TestBackend::Sqlite, options)
        .await
        .unwrap();
    let ch = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let dialog = app.new_dialog(ch, "c1").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let objects = stored_objects(&app);
    admin
        .upload(
            &format!("/api/v1/dialogs/{dialog}/attachments"),
            form(vec![("a.pdf", pdf(1000))]),
        )
        .refused(507, "insufficient_storage")
        .await;
    assert_eq!(stored_objects(&app), objects);
    admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Text still goes"}),
        )
        .expect(201)
        .await;
}

/// A file left in storage with no row (a crash between writing it and recording it) is
/// deleted by the reconcile once it is old enough; the files of attachments and their
/// previews stay, and so does a fresh orphan (it may be an upload being recorded).
async fn stored_files_no_attachment_names_are_reconciled_away(app: TestApp) {
    let sent = sent_files(&app).await;
    let dir = app.files_dir().join("attachments").join("zz");
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("0123456789abcdef0123456789abcdef");
    std::fs::write(&old, b"left behind").unwrap();
    // Everything stored so far, the real files and previews too, is a day old.
    fn age(dir: &std::path::Path) {
        let day_ago = std::time::SystemTime::now() - Duration::from_secs(24 * 3600);
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                age(&p);
            } else {
                let f = std::fs::File::options().write(true).open(&p).unwrap();
                f.set_modified(day_ago).unwrap();
            }
        }
    }
    age(&app.files_dir());
    let fresh = dir.join("fedcba9876543210fedcba9876543210");
    std::fs::write(&fresh, b"being recorded").unwrap();
    let before = stored_objects(&app);

    let gone = app
        .state
        .attachments
        .reconcile_objects(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert!(!old.exists() && fresh.exists());
    assert_eq!(stored_objects(&app), before - 1);
    for f in sent.files.as_array().unwrap() {
        let r = sent
            .admin
            .raw(Method::GET, &format!("/api/v1/attachments/{}", f["id"]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{f}");
    }
    let photo = &sent.files[0]["id"];
    let r = sent
        .admin
        .raw(Method::GET, &format!("/api/v1/attachments/{photo}/preview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the preview stays");
}
