//! Where attachment bytes live, and how files given by address are fetched: two ports the
//! server fills (object storage; an HTTP client). The rules of who may store, read and send a
//! file stay in [`crate::services::attachments`].

use crate::attachment::{NewAttachment, Uploader};
use crate::channel::Capabilities;
use crate::error::CoreResult;
use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use std::pin::Pin;

/// A file's bytes as they arrive or leave; a broken transfer is an error with its reason.
pub type ByteStream<'a> = Pin<Box<dyn Stream<Item = Result<Bytes, String>> + Send + 'a>>;

/// The largest image a client's photo is made from.
pub const PHOTO_SOURCE_BYTES: usize = 10 * 1024 * 1024;

#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Streams one file in under a fresh unguessable key. Its kind comes from its first bytes,
    /// never its name; the channel's limit for that kind is enforced as the bytes arrive, so an
    /// oversized file is refused without being read to its end and nothing of it is kept.
    /// Images get a preview. The answer is what to record; the caller records it.
    async fn put(
        &self,
        body: ByteStream<'_>,
        file_name: Option<&str>,
        caps: &Capabilities,
        uploader: Uploader,
    ) -> CoreResult<NewAttachment>;

    /// A client's photo: an image (at most [`PHOTO_SOURCE_BYTES`]) made into a small JPEG and
    /// stored under a fresh unguessable key; the key. Anything else is `invalid_value`.
    async fn put_photo(&self, body: ByteStream<'_>) -> CoreResult<String>;

    /// The bytes stored under `key`.
    async fn get(&self, key: &str) -> CoreResult<ByteStream<'static>>;

    /// A copy of a file (and its preview) under fresh keys.
    async fn copy(&self, key: &str, preview: Option<&str>) -> CoreResult<(String, Option<String>)>;

    /// Deletes a file and its preview; a missing object is not an error.
    async fn delete(&self, key: &str, preview: Option<&str>);

    /// The keys of every stored object (files and previews) last written before `before`: for
    /// the reconcile that deletes objects no row names.
    async fn stored_before(&self, before: crate::time::Timestamp) -> CoreResult<Vec<String>>;
}

/// A file fetched from an address someone gave us, and the name the address suggests.
pub struct Fetched {
    pub body: ByteStream<'static>,
    pub file_name: Option<String>,
}

#[async_trait]
pub trait UrlFetcher: Send + Sync + 'static {
    /// Fetches `url` (http or https); the error says why, for the one who gave the address.
    async fn fetch(&self, url: &str) -> Result<Fetched, String>;
}
