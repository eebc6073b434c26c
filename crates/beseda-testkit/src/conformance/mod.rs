//! The storage conformance suite: every store method, as each backend must behave. Each
//! function takes a fresh, migrated store; `tests/conformance.rs` runs each on both backends.

/// Asserts a list of events: each one's kind (a `DomainEvent` pattern) and audience, in order.
macro_rules! assert_events {
    ($events:expr, [$($pat:pat => $audience:expr),* $(,)?]) => {{
        let events: &[beseda_core::event::Event] = &$events;
        let kinds: Vec<String> = events.iter().map(|e| e.event.kind()).collect();
        let audiences: Vec<beseda_core::event::Audience> = vec![$($audience),*];
        assert_eq!(events.len(), audiences.len(), "events: {kinds:?}");
        let mut patterns = 0;
        $(
            assert!(matches!(events[patterns].event, $pat), "event {patterns} of {kinds:?}");
            patterns += 1;
        )*
        let found: Vec<_> = events.iter().map(|e| e.audience).collect();
        assert_eq!(found, audiences, "audiences of {kinds:?} ({patterns} events)");
    }};
}

mod attachments;
mod auth;
mod company;
mod dialogs;
mod inbox;
mod library;
mod managers;
mod orders;
mod timers;
mod transport;
mod widget;

pub use attachments::*;
pub use auth::*;
pub use company::*;
pub use dialogs::*;
pub use inbox::*;
pub use library::*;
pub use managers::*;
pub use orders::*;
pub use timers::*;
pub use transport::*;
pub use widget::*;

use beseda_core::CoreError;
use beseda_core::manager::NewManager;
use beseda_core::time::Timestamp;
use beseda_core::values::Email;

pub(crate) fn new_manager(email: &str, name: &str) -> NewManager {
    NewManager {
        email: Email::parse(email).expect("email"),
        name: name.into(),
        password_hash: format!("hash-of-{email}"),
        locale: None,
        is_system_admin: false,
        created_at: Timestamp(1_000),
    }
}

pub(crate) fn assert_code<T: std::fmt::Debug>(r: Result<T, CoreError>, code: &str) {
    match r {
        Err(e) => assert_eq!(e.code(), code, "{e}"),
        Ok(v) => panic!("expected {code}, got {v:?}"),
    }
}
