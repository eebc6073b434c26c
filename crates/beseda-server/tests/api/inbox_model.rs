//! A property test of the dialog list (F20–F24, F33): random small inboxes, random filter and
//! sort combinations, the API's answer (through all its keyset pages) against a plain
//! in-memory model of the rules, on both stores.

use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_core::company::TagColor;
use beseda_core::dialog::{InboundMessage, Ingested, Responsible};
use beseda_core::ids::{ChannelId, DialogId, ManagerId, TagId};
use beseda_core::services::inbox::Deletion;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

on_both_backends!(random_filters_and_sorts_agree_with_the_model);

/// What the model knows of a dialog, read from the single-dialog endpoints.
#[derive(Debug)]
struct Facts {
    id: i64,
    channel: i64,
    manager: Option<i64>,
    open: bool,
    last_author: Option<String>,
    waiting_since: Option<i64>,
    last_activity: i64,
    times: Vec<i64>,
    tags: Vec<(i64, bool)>,
}

#[derive(Debug, Default)]
struct Query {
    managers: Vec<i64>,
    nobody: bool,
    channels: Vec<i64>,
    open: Option<bool>,
    last: Option<&'static str>,
    period: Option<(i64, i64)>,
    no_tags: bool,
    tags: Vec<i64>,
    pinned: bool,
    processing: bool,
}

impl Query {
    fn string(&self) -> String {
        let join = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let mut q = String::new();
        let mut holders: Vec<String> = self.managers.iter().map(i64::to_string).collect();
        if self.nobody {
            holders.push("none".into());
        }
        if !holders.is_empty() {
            q += &format!("&responsible={}", holders.join(","));
        }
        if !self.channels.is_empty() {
            q += &format!("&channels={}", join(&self.channels));
        }
        if let Some(o) = self.open {
            q += if o { "&status=open" } else { "&status=closed" };
        }
        if let Some(l) = self.last {
            q += &format!("&last={l}");
        }
        if let Some((a, b)) = self.period {
            q += &format!("&from={a}&to={b}");
        }
        if self.no_tags {
            q += "&tags=none";
        } else if !self.tags.is_empty() {
            q += &format!("&tags={}", join(&self.tags));
        }
        if self.pinned {
            q += "&pinned=true";
        }
        if self.processing {
            q += "&sort=processing";
        }
        q
    }

    /// The rules, plainly.
    fn expect(&self, all: &[Facts], viewer: Option<i64>) -> Vec<i64> {
        let mut rows: Vec<&Facts> = all
            .iter()
            .filter(|f| viewer.is_none() || f.manager.is_none() || f.manager == viewer)
            .filter(|f| {
                (self.managers.is_empty() && !self.nobody)
                    || f.manager.is_some_and(|m| self.managers.contains(&m))
                    || (self.nobody && f.manager.is_none())
            })
            .filter(|f| self.channels.is_empty() || self.channels.contains(&f.channel))
            .filter(|f| self.open.is_none_or(|o| o == f.open))
            .filter(|f| match self.last {
                None => true,
                Some("client") => f.last_author.as_deref() == Some("client"),
                Some(_) => matches!(f.last_author.as_deref(), Some("manager" | "bot")),
            })
            .filter(|f| {
                self.period
                    .is_none_or(|(a, b)| f.times.iter().any(|t| *t >= a && *t < b))
            })
            .filter(|f| {
                if self.no_tags {
                    f.tags.is_empty()
                } else if self.tags.is_empty() {
                    !self.pinned || f.tags.iter().any(|(_, p)| *p)
                } else {
                    self.tags
                        .iter()
                        .all(|t| f.tags.iter().any(|(id, p)| id == t && (*p || !self.pinned)))
                }
            })
            .collect();
        let by_activity =
            |a: &&Facts, b: &&Facts| (b.last_activity, b.id).cmp(&(a.last_activity, a.id));
        if self.processing {
            rows.sort_by(|a, b| match (a.waiting_since, b.waiting_since) {
                (Some(x), Some(y)) => (x, a.id).cmp(&(y, b.id)),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => by_activity(a, b),
            });
        } else {
            rows.sort_by(by_activity);
        }
        rows.iter().map(|f| f.id).collect()
    }
}

fn pick<T: Copy>(rng: &mut StdRng, from: &[T]) -> Vec<T> {
    from.iter()
        .copied()
        .filter(|_| rng.random_bool(0.4))
        .collect()
}

async fn random_filters_and_sorts_agree_with_the_model(app: TestApp) {
    let channels: Vec<ChannelId> = vec![
        app.channel(ChannelKind::Telegram).await,
        app.channel(ChannelKind::Vk).await,
    ];
    let m1 = app.manager("m1@example.com", "M1").await.id;
    let m2 = app.manager("m2@example.com", "M2").await.id;
    let admin = app.managers_actor(app.admin.id).await;
    let tags: Vec<TagId> = {
        let mut v = Vec::new();
        for (name, color) in [
            ("a", TagColor::Red),
            ("b", TagColor::Blue),
            ("c", TagColor::Green),
        ] {
            v.push(
                app.state
                    .library
                    .create_tag(&admin, name, color)
                    .await
                    .unwrap()
                    .id,
            );
        }
        v
    };
    let mut rng = StdRng::seed_from_u64(20261125);
    let mut sent = 0i64;
    let mut ids = Vec::new();
    for i in 0..14 {
        let ch = channels[rng.random_range(0..2)];
        let mut dialog = 0;
        for _ in 0..rng.random_range(1..3) {
            sent += 1;
            let m = InboundMessage {
                channel_id: ch,
                contact_external_id: format!("c{i}"),
                contact_name: format!("Client {i}"),
                external_id: format!("m{sent}"),
                body: "text".into(),
                sent_at: beseda_core::time::Timestamp(1_000 * sent),
                details: Default::default(),
                attachments: Vec::new(),
                quote_external_id: None,
            };
            if let Ingested::Accepted { dialog_id, .. } =
                app.state.dialogs.receive(m).await.unwrap()
            {
                dialog = dialog_id.0;
            }
        }
        let d = DialogId(dialog);
        match rng.random_range(0..3) {
            0 => {}
            1 => app
                .state
                .dialogs
                .assign(&admin, d, Some(Responsible::Manager(m1)))
                .await
                .unwrap(),
            _ => app
                .state
                .dialogs
                .assign(&admin, d, Some(Responsible::Manager(m2)))
                .await
                .unwrap(),
        }
        if rng.random_bool(0.4) {
            app.state
                .dialogs
                .send(&admin, d, "answer", None, &[])
                .await
                .unwrap();
        }
        if rng.random_bool(0.3) {
            app.state.dialogs.close(&admin, d).await.unwrap();
        }
        let client = app
            .state
            .dialogs
            .view(&admin, d)
            .await
            .unwrap()
            .client
            .unwrap()
            .id;
        for t in &tags {
            if rng.random_bool(0.4) {
                let pinned = rng.random_bool(0.5);
                app.state
                    .library
                    .tag_client(&admin, client, *t, pinned)
                    .await
                    .unwrap();
            }
        }
        ids.push(dialog);
    }
    // Later changes move the tags' own rows and counters (migration 0005): a dialog changes
    // hands, a tag is pinned, unpinned or taken off, new messages arrive, a dialog is deleted.
    for (n, id) in ids.clone().iter().enumerate() {
        let d = DialogId(*id);
        let client = app
            .state
            .dialogs
            .view(&admin, d)
            .await
            .unwrap()
            .client
            .unwrap()
            .id;
        if rng.random_bool(0.4) {
            let to = [None, Some(m1), Some(m2)][rng.random_range(0..3)];
            app.state
                .dialogs
                .assign(&admin, d, to.map(Responsible::Manager))
                .await
                .unwrap();
        }
        let t = tags[rng.random_range(0..tags.len())];
        match rng.random_range(0..4) {
            0 => {
                app.state
                    .library
                    .untag_client(&admin, client, t)
                    .await
                    .unwrap();
            }
            1 => {
                let pinned = rng.random_bool(0.5);
                app.state
                    .library
                    .tag_client(&admin, client, t, pinned)
                    .await
                    .unwrap();
            }
            _ => {}
        }
        if rng.random_bool(0.2) {
            app.state
                .dialogs
                .send(&admin, d, "later", None, &[])
                .await
                .unwrap();
        }
        if n == 0 {
            app.state
                .inbox
                .delete(&admin, Deletion::These(vec![d]))
                .await
                .unwrap();
            ids.retain(|i| i != id);
        }
    }
    let c = app.as_(ADMIN_EMAIL).await;
    let mut facts = Vec::new();
    for id in &ids {
        let (_, v) = c.get(&format!("/api/v1/dialogs/{id}")).await;
        let (_, feed) = c
            .get(&format!("/api/v1/dialogs/{id}/messages?limit=200"))
            .await;
        facts.push(Facts {
            id: *id,
            channel: v["channel"]["id"].as_i64().unwrap(),
            manager: (v["responsible"]["type"] == "manager")
                .then(|| v["responsible"]["id"].as_i64().unwrap()),
            open: v["open"].as_bool().unwrap(),
            last_author: v["last_message_author"].as_str().map(str::to_owned),
            waiting_since: v["waiting_since"].as_i64(),
            last_activity: v["last_activity_at"].as_i64().unwrap(),
            times: feed
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["author"]["type"] != "system")
                .map(|m| m["created_at"].as_i64().unwrap())
                .collect(),
            tags: v["client_tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t: &Value| {
                    (
                        t["tag"]["id"].as_i64().unwrap(),
                        t["pinned"].as_bool().unwrap(),
                    )
                })
                .collect(),
        });
    }
    let times: Vec<i64> = facts.iter().flat_map(|f| f.times.clone()).collect();
    let viewers = [
        (None, c.clone()),
        (Some(m1.0), app.as_("m1@example.com").await),
    ];
    // The panel's tag counts (F24) are each viewer's visible dialogs with the tag (pinned).
    for (viewer, client) in &viewers {
        for pinned in [false, true] {
            let (_, panel) = client
                .get(&format!("/api/v1/dialogs/filters?pinned={pinned}"))
                .await;
            for t in panel["tags"].as_array().unwrap() {
                let tag = t["id"].as_i64().unwrap();
                let expected = facts
                    .iter()
                    .filter(|f| viewer.is_none() || f.manager.is_none() || f.manager == *viewer)
                    .filter(|f| f.tags.iter().any(|(id, p)| *id == tag && (*p || !pinned)))
                    .count();
                assert_eq!(
                    t["dialogs"].as_i64().unwrap(),
                    expected as i64,
                    "tag {tag}, viewer {viewer:?}, pinned {pinned}"
                );
            }
        }
    }
    let channel_ids: Vec<i64> = channels.iter().map(|c| c.0).collect();
    let tag_ids: Vec<i64> = tags.iter().map(|t| t.0).collect();
    // The random queries must narrow the list in many ways, or the test proves little.
    let mut narrowed = 0;
    for round in 0..60 {
        let mut q = Query {
            managers: pick(&mut rng, &[m1.0, m2.0, ManagerId(app.admin.id.0).0]),
            nobody: rng.random_bool(0.3),
            channels: pick(&mut rng, &channel_ids),
            open: [None, Some(true), Some(false)][rng.random_range(0..3)],
            last: [None, Some("client"), Some("company")][rng.random_range(0..3)],
            pinned: rng.random_bool(0.25),
            processing: rng.random_bool(0.5),
            ..Query::default()
        };
        if rng.random_bool(0.3) {
            let a = times[rng.random_range(0..times.len())];
            let b = times[rng.random_range(0..times.len())];
            q.period = Some((a.min(b), a.max(b) + 1));
        }
        match rng.random_range(0..4) {
            0 => q.no_tags = true,
            1 | 2 => q.tags = pick(&mut rng, &tag_ids),
            _ => {}
        }
        let (viewer, client) = &viewers[round % 2];
        let got = client.dialog_ids(&q.string()).await;
        let expected = q.expect(&facts, *viewer);
        assert_eq!(
            got,
            expected,
            "round {round}, viewer {viewer:?}, query {}",
            q.string()
        );
        if !expected.is_empty() && expected.len() < facts.len() {
            narrowed += 1;
        }
    }
    assert!(
        narrowed >= 10,
        "only {narrowed} queries found some but not all dialogs"
    );
}
