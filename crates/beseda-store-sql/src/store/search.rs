//! Substring search in each database's own way (F06): SQLite's FTS5 trigram index, PostgreSQL's
//! pg_trgm index under ILIKE. Both match case-insensitively in any script, Cyrillic included.

use crate::driver::SqlValue;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Search {
    Fts5,
    Trigram,
}

/// An FTS5 phrase matching `text` literally.
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// An ILIKE pattern matching `text` anywhere, with the pattern characters escaped.
fn pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

const CONTACT_DOC: &str = "(COALESCE(name, '') || ' ' || COALESCE(nickname, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(email, ''))";
const CLIENT_DOC: &str =
    "(COALESCE(name, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(email, ''))";

impl Search {
    pub(crate) fn for_backend(backend: &str) -> Search {
        if backend == "postgres" {
            Search::Trigram
        } else {
            Search::Fts5
        }
    }

    /// A predicate on the dialog `d`: its contact or client card matches by name, nickname,
    /// phone or email. The matching dialogs are gathered first (a union, not an OR, which would
    /// make the databases test every dialog against both lists).
    pub(crate) fn contacts(self, params: &mut Vec<SqlValue>, text: &str) -> String {
        let (contact, client) = match self {
            // Trigrams need three characters; shorter text is looked for row by row (SQLite's
            // LIKE ignores case in Latin letters only).
            Search::Fts5 if text.chars().count() < 3 => {
                params.push(SqlValue::from(pattern(text)));
                let n = params.len();
                (
                    format!("SELECT id FROM contacts WHERE {CONTACT_DOC} LIKE ${n} ESCAPE '\\'"),
                    format!("SELECT id FROM clients WHERE {CLIENT_DOC} LIKE ${n} ESCAPE '\\'"),
                )
            }
            Search::Fts5 => {
                params.push(SqlValue::from(phrase(text)));
                let n = params.len();
                (
                    format!("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ${n}"),
                    format!("SELECT rowid FROM clients_fts WHERE clients_fts MATCH ${n}"),
                )
            }
            Search::Trigram => {
                params.push(SqlValue::from(pattern(text)));
                let n = params.len();
                (
                    format!("SELECT id FROM contacts WHERE {CONTACT_DOC} ILIKE ${n}"),
                    format!("SELECT id FROM clients WHERE {CLIENT_DOC} ILIKE ${n}"),
                )
            }
        };
        format!(
            "d.id IN (SELECT id FROM dialogs WHERE contact_id IN ({contact}) \
             UNION SELECT id FROM dialogs WHERE client_id IN ({client}))"
        )
    }

    /// Messages `m` whose text holds `text` (at least three characters): where to read them
    /// from, the condition, and the column that orders them newest first. SQLite walks the
    /// full-text index itself in descending order, so a common word stops at the first page.
    pub(crate) fn messages(self, params: &mut Vec<SqlValue>, text: &str) -> MessageSource {
        match self {
            Search::Fts5 => {
                params.push(SqlValue::from(phrase(text)));
                MessageSource {
                    from: "messages_fts f JOIN messages m ON m.id = f.rowid",
                    matches: format!("messages_fts MATCH ${}", params.len()),
                    newest_first_by: "f.rowid",
                }
            }
            Search::Trigram => {
                params.push(SqlValue::from(pattern(text)));
                MessageSource {
                    from: "messages m",
                    matches: format!("m.body ILIKE ${}", params.len()),
                    newest_first_by: "m.id",
                }
            }
        }
    }
}

pub(crate) struct MessageSource {
    pub from: &'static str,
    pub matches: String,
    pub newest_first_by: &'static str,
}
