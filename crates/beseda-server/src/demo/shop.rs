//! The demo shop (`serve --demo`): a shop's page on another loopback port with the demo's
//! website widget, whose list of allowed sites names exactly that page.

use beseda_core::CoreResult;
use beseda_core::services::widget::WidgetSetup;
use beseda_core::widget::WidgetSettings;
use beseda_web::app::AppState;
use beseda_web::widget::demo_shop::{ShopPage, router};
use tokio_util::sync::CancellationToken;

/// The demo's website widget, by its channel's name.
pub const DEMO_WIDGET: &str = "Cozy Sofa website";

fn settings(origin: &str) -> WidgetSettings {
    WidgetSettings {
        color: "#8a5a44".into(),
        greeting: Some("Hello! Ask us about sofas, delivery or your order.".into()),
        ..WidgetSettings::starting("Cozy Sofa", vec![origin.to_owned()])
    }
}

/// Starts the shop on `port` of loopback (another free one when it is taken), with the demo
/// widget set to allow it. `server` is Beseda's address as the browser reaches it. Returns the
/// shop's address.
pub async fn start(
    state: &AppState,
    server: &str,
    port: u16,
    shutdown: CancellationToken,
) -> CoreResult<String> {
    let io = |e: std::io::Error| beseda_core::CoreError::Storage(format!("demo shop: {e}"));
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(io)?,
    };
    let origin = format!("http://{}", listener.local_addr().map_err(io)?);
    let existing = state
        .store
        .widgets()
        .await?
        .into_iter()
        .find(|w| w.name == DEMO_WIDGET);
    let widget = match existing {
        Some(w) => {
            let setup = settings(&origin).parse()?;
            state
                .store
                .update_widget(w.channel_id, &w.name, true, &setup, state.clock.now())
                .await?
        }
        None => {
            let setup = WidgetSetup {
                name: DEMO_WIDGET.into(),
                active: true,
                settings: settings(&origin),
            };
            state.widget.create_own(setup).await?
        }
    };
    let page = ShopPage {
        server: server.trim_end_matches('/').to_owned(),
        key: widget.key,
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(page))
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    Ok(format!("{origin}/"))
}
