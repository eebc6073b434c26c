//! The core's file ports, filled: attachment bytes in object storage (the `object_store`
//! crate: a local directory by default, S3-compatible storage by configuration), and files
//! fetched by address over HTTP. Keys are random, so a name reveals nothing, and every read
//! goes through an access check in the core first.

pub mod fetch;
pub mod preview;
pub mod sniff;

use async_trait::async_trait;
use beseda_core::attachment::{AttachmentKind, NewAttachment, Uploader};
use beseda_core::channel::Capabilities;
use beseda_core::files::{ByteStream, FileStore};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub struct Files {
    store: Arc<dyn ObjectStore>,
    /// For local storage: the directory, whose disk's free space is checked before each file.
    local_dir: Option<std::path::PathBuf>,
    /// Files are refused when less than this is free on that disk.
    pub min_free_bytes: u64,
    /// Previews decode at most one image per core at a time: each may take up to
    /// [`preview::MAX_ALLOC`] of memory.
    previews: Arc<tokio::sync::Semaphore>,
}

impl Files {
    fn over(store: Arc<dyn ObjectStore>) -> Files {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Files {
            store,
            local_dir: None,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            previews: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }

    /// Refuses a new file when the local disk is short of space: better a clear refusal of an
    /// upload than a database that can no longer write.
    fn check_free_space(&self) -> CoreResult<()> {
        let Some(dir) = &self.local_dir else {
            return Ok(());
        };
        match free_bytes(dir) {
            Some(free) if free < self.min_free_bytes => Err(CoreError::InsufficientStorage),
            _ => Ok(()),
        }
    }
}

/// Refuse files below this much free disk space unless configured (`BESEDA_MIN_FREE_DISK_MB`).
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;

#[cfg(unix)]
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &std::path::Path) -> Option<u64> {
    None
}

fn storage_error(e: impl std::fmt::Display) -> CoreError {
    CoreError::Storage(format!("object storage: {e}"))
}

/// A fresh unguessable key: 128 random bits.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("attachments/{}/{hex}", &hex[..2])
}

fn preview_key(key: &str) -> String {
    format!("{key}.preview.jpg")
}

impl Files {
    /// Opens the storage a `BESEDA_STORAGE_URL` names (`file:///dir` or `s3://bucket`).
    pub fn open(url: &str) -> Result<Files, String> {
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
            let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| e.to_string())?;
            let mut files = Files::over(Arc::new(local));
            files.local_dir = Some(dir.into());
            return Ok(files);
        }
        if let Some(bucket) = url.strip_prefix("s3://") {
            return Self::s3(bucket);
        }
        Err(format!("{url:?} is neither file:///dir nor s3://bucket"))
    }

    #[cfg(feature = "s3")]
    fn s3(bucket: &str) -> Result<Files, String> {
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket.trim_end_matches('/'))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Files::over(Arc::new(s3)))
    }

    #[cfg(not(feature = "s3"))]
    fn s3(_bucket: &str) -> Result<Files, String> {
        Err("this build has no S3 support: build with `cargo build --release --features s3`".into())
    }
}

#[async_trait]
impl FileStore for Files {
    async fn put(
        &self,
        mut body: ByteStream<'_>,
        file_name: Option<&str>,
        caps: &Capabilities,
        uploader: Uploader,
    ) -> CoreResult<NewAttachment> {
        self.check_free_space()?;
        let broken = |e: String| CoreError::invalid("file", format!("the upload broke off: {e}"));
        let mut head = Vec::new();
        let mut rest: Option<Bytes> = None;
        while head.len() < sniff::HEAD_BYTES {
            match body.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(broken)?;
                    let take = (sniff::HEAD_BYTES - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                    if take < chunk.len() {
                        rest = Some(chunk.slice(take..));
                    }
                }
                None => break,
            }
        }
        if head.is_empty() {
            return Err(CoreError::invalid("file", "the file is empty"));
        }
        let (kind, mime) = sniff::classify(&head);
        let limit = kind.limit(caps);
        let key = new_key();
        let path = ObjectPath::from(key.as_str());
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(storage_error)?;
        let mut writer = WriteMultipart::new(upload);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        // Images are kept in memory to make their preview once stored.
        let mut keep = (kind == AttachmentKind::Image).then(Vec::new);
        let mut next = Some(Bytes::from(head));
        loop {
            let chunk = match next.take().or_else(|| rest.take()) {
                Some(c) => c,
                None => match body.next().await {
                    Some(Ok(c)) => c,
                    Some(Err(e)) => {
                        let _ = writer.abort().await;
                        return Err(broken(e));
                    }
                    None => break,
                },
            };
            size += chunk.len() as u64;
            if size > limit {
                let _ = writer.abort().await;
                return Err(CoreError::AttachmentTooLarge { kind, limit });
            }
            hasher.update(&chunk);
            if let Some(k) = keep.as_mut() {
                if k.len() + chunk.len() <= preview::MAX_SOURCE_BYTES {
                    k.extend_from_slice(&chunk);
                } else {
                    keep = None;
                }
            }
            writer.write(&chunk);
        }
        writer.finish().await.map_err(storage_error)?;
        let sha256 = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut new = NewAttachment {
            object_key: key,
            uploader,
            kind,
            file_name: sniff::clean_name(file_name),
            mime,
            size_bytes: size,
            sha256,
            width: None,
            height: None,
            preview_key: None,
        };
        if let Some(bytes) = keep {
            let _permit = self.previews.acquire().await.map_err(storage_error)?;
            let made = tokio::task::spawn_blocking(move || preview::make(&bytes))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            if let Some(p) = made {
                let pkey = preview_key(&new.object_key);
                self.store
                    .put(&ObjectPath::from(pkey.as_str()), p.jpeg.into())
                    .await
                    .map_err(storage_error)?;
                new.width = Some(p.width);
                new.height = Some(p.height);
                new.preview_key = Some(pkey);
            }
        }
        Ok(new)
    }

    async fn put_photo(&self, mut body: ByteStream<'_>) -> CoreResult<String> {
        self.check_free_space()?;
        let not_a_photo = |why: &str| CoreError::invalid("photo", why);
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| not_a_photo(&e))?;
            if bytes.len() + chunk.len() > beseda_core::files::PHOTO_SOURCE_BYTES {
                return Err(not_a_photo("the image is too large for a photo"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let made = {
            let _permit = self.previews.acquire().await.map_err(storage_error)?;
            tokio::task::spawn_blocking(move || preview::make(&bytes))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?
        };
        let jpeg = made.ok_or_else(|| not_a_photo("not an image"))?.jpeg;
        let key = format!("photos/{}.jpg", beseda_core::secret::random_hex(16));
        self.store
            .put(&ObjectPath::from(key.as_str()), jpeg.into())
            .await
            .map_err(storage_error)?;
        Ok(key)
    }

    async fn get(&self, key: &str) -> CoreResult<ByteStream<'static>> {
        let got = self
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(storage_error)?;
        Ok(Box::pin(
            got.into_stream().map(|r| r.map_err(|e| e.to_string())),
        ))
    }

    async fn copy(&self, key: &str, preview: Option<&str>) -> CoreResult<(String, Option<String>)> {
        let to = new_key();
        self.store
            .copy(&ObjectPath::from(key), &ObjectPath::from(to.as_str()))
            .await
            .map_err(storage_error)?;
        let to_preview = match preview {
            Some(p) => {
                let tp = preview_key(&to);
                self.store
                    .copy(&ObjectPath::from(p), &ObjectPath::from(tp.as_str()))
                    .await
                    .map_err(storage_error)?;
                Some(tp)
            }
            None => None,
        };
        Ok((to, to_preview))
    }

    async fn delete(&self, key: &str, preview: Option<&str>) {
        for k in std::iter::once(key).chain(preview) {
            match self.store.delete(&ObjectPath::from(k)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(error = %e, key = k, "could not delete an object"),
            }
        }
    }

    async fn stored_before(&self, before: Timestamp) -> CoreResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut listing = self.store.list(Some(&ObjectPath::from("attachments")));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(storage_error)?;
            if meta.last_modified.timestamp_millis() < before.0 {
                keys.push(meta.location.to_string());
            }
        }
        Ok(keys)
    }
}
