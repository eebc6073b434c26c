//! The demo shop (`serve --demo`): a small shop's site on its own origin with the widget
//! embedded, so a newcomer plays the visitor in one tab and the manager in another.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::header;
use axum::routing::get;

#[derive(Template, WebTemplate, Clone)]
#[template(path = "demo/shop.html")]
pub struct ShopPage {
    /// Where Beseda is, as the visitor's browser reaches it.
    pub server: String,
    /// The demo widget's public key.
    pub key: String,
}

const SHOP_CSS: &str = "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#222;background:#faf7f2}\
header{padding:16px 24px;background:#3b2f2f;color:#fff}header span{opacity:.7;margin-left:8px}\
main{max-width:860px;margin:0 auto;padding:24px}.note{background:#fff;border:1px solid #e5ddd0;border-radius:8px;padding:12px 16px}\
.goods{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px}\
.goods li{background:#fff;border-radius:8px;padding:16px;border:1px solid #e5ddd0}.goods h2{margin:0;font-size:1.1rem}";

/// The shop's pages.
pub fn router(page: ShopPage) -> Router {
    Router::new()
        .route("/", get(move || async move { page.clone() }))
        .route(
            "/shop.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], SHOP_CSS) }),
        )
}
