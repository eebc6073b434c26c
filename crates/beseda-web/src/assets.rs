//! The stylesheet and scripts, compiled into the binary so that one file is the whole server.

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
pub struct Assets;
